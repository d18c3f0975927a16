//! OAuth against an authorization server nobody here wrote: oidc-provider
//! (`tests/oauth/as.mjs`, installed by `scripts/test-deps`) in front of the
//! test backend acting as a protected resource (JWT access tokens for its
//! own audience, protected resource metadata naming the server). Consents
//! run headlessly: `$BROWSER` is `tests/conformance/browser.py`, which
//! fetches the authorization URL and follows the redirects to mcpmux's
//! callback. Checked: authorized once and kept across restarts, an expired
//! access token refreshed with no consent and the rotated refresh token
//! saved, an `invalid_grant` answered by exactly one new consent, a lazy
//! backend authorized when a client arrives (its tools then announced), a
//! login made out of band picked up by a running mcpmux, `mcpmux auth`
//! status and logout, and no token in any output.

use std::path::{Path, PathBuf};
use std::time::Duration;

use libtest_mimic::Trial;
use serde_json::{Value, json};

use crate::harness::*;
use crate::trial;

pub fn all() -> Vec<Trial> {
    vec![
        trial("oauth/authorized_once_kept_across_restarts", kept_across_restarts),
        trial("oauth/expiry_refresh_and_invalid_grant", refresh_and_invalid_grant),
        trial("oauth/lazy_consent_and_out_of_band_login", lazy_and_out_of_band),
        trial("oauth/concurrent_refusals_share_one_consent", concurrent_refusals),
    ]
}

/// The authorization server, and its test hooks.
struct AuthServer {
    _server: HttpServer,
    issuer: String,
}

impl AuthServer {
    /// Starts it, its log in `log`.
    async fn start(access_ttl_secs: u32, log: &Path) -> Result<AuthServer> {
        let node = root().join(".cache/conformance/node_modules/.bin/node");
        let script = root().join("tests/oauth/as.mjs");
        if !node.exists() || !root().join(".cache/oauth/node_modules/oidc-provider").exists() {
            return Err("oidc-provider or Node 22 is missing: run scripts/test-deps (scripts/test does)".into());
        }
        let mut cmd = tokio::process::Command::new(node);
        cmd.arg(script)
            .args(["--access-ttl", &access_ttl_secs.to_string()])
            .stderr(std::fs::File::create(log)?);
        let server = HttpServer::announced(cmd).await?;
        let issuer = server.url.trim_end_matches("/mcp").to_string();
        Ok(AuthServer {
            _server: server,
            issuer,
        })
    }

    async fn stats(&self) -> Result<Value> {
        let r = reqwest::get(format!("{}/test/stats", self.issuer)).await?;
        Ok(serde_json::from_slice(&r.bytes().await?)?)
    }

    async fn consents(&self) -> Result<u64> {
        Ok(self.stats().await?["authorizations"].as_u64().unwrap_or(0))
    }

    async fn revoke_refresh_tokens(&self) -> Result {
        let r = reqwest::Client::new()
            .post(format!("{}/test/revoke-refresh-tokens", self.issuer))
            .send()
            .await?;
        if !r.status().is_success() {
            return Err(format!("revoke hook answered {}", r.status()).into());
        }
        Ok(())
    }
}

/// A scratch directory with an authorization server, a protected backend,
/// and the environment mcpmux runs in (its own token store, the headless browser).
struct Setup {
    s: Scratch,
    auth: AuthServer,
    _resource: HttpServer,
    endpoint: String,
}

impl Setup {
    async fn new(test: &str, access_ttl_secs: u32) -> Result<Setup> {
        let s = Scratch::new(test);
        let auth = AuthServer::start(access_ttl_secs, &s.dir.join("auth-server.log")).await?;
        let resource = HttpServer::test_backend(&s, "cloud", &["--oauth-issuer", &auth.issuer]).await?;
        let endpoint = resource.url.clone();
        Ok(Setup {
            s,
            auth,
            _resource: resource,
            endpoint,
        })
    }

    fn state(&self) -> PathBuf {
        self.s.dir.join("state")
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("XDG_STATE_HOME", self.state().display().to_string()),
            (
                "BROWSER",
                root().join("tests/conformance/browser.py").display().to_string(),
            ),
        ]
    }

    fn config(&self, extra: Value) -> PathBuf {
        let mut config = json!({
            "connect_retry": { "max_delay": "1s", "attempt_timeout": "20s" },
            "backends": [{
                "name": "cloud",
                "transport": "http",
                "endpoint": self.endpoint,
                "auth": { "type": "oauth", "client_name": "mcpmux e2e" },
            }],
        });
        if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        self.s.config(&config)
    }

    /// Runs an mcpmux command with this setup's environment; its stdout and stderr together.
    async fn run(&self, args: &[&str]) -> Result<(Option<i32>, String)> {
        let out = mcpmux()
            .args(args)
            .envs(self.env())
            .stdin(std::process::Stdio::null())
            .output()
            .await?;
        Ok((out.status.code(), output_text(&out)))
    }

    /// `mcpmux list --json` with eager consents: the tool names it found.
    async fn list(&self, config: &Path) -> Result<(Vec<String>, String)> {
        let (code, text) = self.run(&["list", "--json", "-c", config.to_str().unwrap()]).await?;
        let json_start = text.find('{').ok_or_else(|| format!("no listing:\n{text}"))?;
        let report: Value = serde_json::Deserializer::from_str(&text[json_start..])
            .into_iter::<Value>()
            .next()
            .ok_or("no listing")??;
        let names = report["tools"]
            .as_array()
            .map(|t| t.iter().filter_map(|t| t["name"].as_str().map(String::from)).collect())
            .unwrap_or_default();
        if code != Some(0) {
            return Err(format!("list exited {code:?}:\n{text}").into());
        }
        Ok((names, text))
    }

    /// The stored record of the backend.
    fn record(&self) -> Result<Value> {
        let path = self.state().join("mcpmux/oauth/cloud.json");
        Ok(serde_json::from_str(&std::fs::read_to_string(&path)?)?)
    }

    fn tokens(&self) -> Result<(String, String)> {
        let r = self.record()?;
        let t = &r["credentials"]["token_response"];
        Ok((
            t["access_token"].as_str().ok_or("no access token stored")?.to_string(),
            t["refresh_token"]
                .as_str()
                .ok_or("no refresh token stored")?
                .to_string(),
        ))
    }
}

fn assert_no_tokens(text: &str, tokens: &[&str]) {
    for t in tokens {
        assert!(!text.contains(t), "a token reached the output:\n{text}");
    }
}

/// Authorized once (eagerly, by `list`), then the stored tokens serve a
/// second run with no new consent; the store is private; no token shows
/// in any output, `auth status` included.
fn kept_across_restarts() -> Result {
    block_on(async {
        let t = Setup::new("oauth-kept", 3600).await?;
        let config = t.config(json!({ "eager_auth": true }));
        let (names, first) = t.list(&config).await?;
        assert!(names.contains(&"cloud__echo".to_string()), "{first}");
        assert_eq!(t.auth.consents().await?, 1);
        let stats = t.auth.stats().await?;
        assert_eq!(stats["registrations"], 1, "{stats}");

        let (names, second) = t.list(&config).await?;
        assert!(names.contains(&"cloud__echo".to_string()), "{second}");
        assert_eq!(
            t.auth.consents().await?,
            1,
            "a restart asked for a new consent:\n{second}"
        );

        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
            assert_eq!(mode(&t.state().join("mcpmux/oauth/cloud.json"))?, 0o600);
            assert_eq!(mode(&t.state().join("mcpmux/oauth"))?, 0o700);
        }
        let (status_code, status) = t.run(&["auth", "status", "-c", config.to_str().unwrap()]).await?;
        assert_eq!(status_code, Some(0), "{status}");
        assert!(
            status.contains("cloud") && status.contains("logged in") && status.contains("refresh token kept"),
            "{status}"
        );
        let (access, refresh) = t.tokens()?;
        assert_no_tokens(&format!("{first}{second}{status}"), &[&access, &refresh]);

        let (code, out) = t
            .run(&["auth", "logout", "cloud", "-c", config.to_str().unwrap()])
            .await?;
        assert_eq!(code, Some(0), "{out}");
        let (_, status) = t.run(&["auth", "status", "-c", config.to_str().unwrap()]).await?;
        assert!(status.contains("not logged in"), "{status}");
        Ok(())
    })
}

/// Access tokens that live 2 s: a later run refreshes (no consent) and
/// saves the rotated refresh token; after the server revokes every refresh
/// token, the next run gets `invalid_grant` and asks for exactly one new
/// consent, and the run after that uses the new tokens.
fn refresh_and_invalid_grant() -> Result {
    block_on(async {
        let t = Setup::new("oauth-refresh", 2).await?;
        let config = t.config(json!({ "eager_auth": true }));
        t.list(&config).await?;
        assert_eq!(t.auth.consents().await?, 1);
        let (_, refresh_1) = t.tokens()?;

        tokio::time::sleep(Duration::from_millis(2500)).await;
        let (names, out) = t.list(&config).await?;
        assert!(names.contains(&"cloud__echo".to_string()), "{out}");
        let stats = t.auth.stats().await?;
        assert_eq!(
            stats["authorizations"], 1,
            "an expired token led to a consent:\n{stats}\n{out}"
        );
        assert!(stats["refresh_grants"].as_u64() >= Some(1), "{stats}");
        let (_, refresh_2) = t.tokens()?;
        assert_ne!(refresh_1, refresh_2, "the rotated refresh token was not saved");

        t.auth.revoke_refresh_tokens().await?;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let (names, out) = t.list(&config).await?;
        assert!(names.contains(&"cloud__echo".to_string()), "{out}");
        let stats = t.auth.stats().await?;
        assert_eq!(
            stats["authorizations"], 2,
            "invalid_grant: one new consent:\n{stats}\n{out}"
        );
        assert!(stats["refresh_failures"].as_u64() >= Some(1), "{stats}");
        assert_eq!(
            stats["registrations"], 1,
            "the stored registration was not reused:\n{stats}"
        );

        let (names, out) = t.list(&config).await?;
        assert!(names.contains(&"cloud__echo".to_string()), "{out}");
        assert_eq!(t.auth.consents().await?, 2, "{out}");
        let (access, refresh) = t.tokens()?;
        assert_no_tokens(&out, &[&access, &refresh, &refresh_1, &refresh_2]);
        Ok(())
    })
}

/// `eager_auth: false`: a serving mcpmux asks for no consent until a
/// client arrives; the client's first list does not wait for the consent,
/// and the backend's tools are announced once it is authorized. A second
/// mcpmux, waiting for its consent, picks up a login made out of band
/// with `mcpmux auth login` without asking for one itself.
fn lazy_and_out_of_band() -> Result {
    block_on(async {
        let t = Setup::new("oauth-lazy", 3600).await?;
        let config = t.config(json!({ "listen": { "transport": "http", "address": "127.0.0.1:0" } }));
        let env = t.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mux = MuxHttp::start_with(&config, &env).await?;
        let r: Result = async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            assert_eq!(t.auth.consents().await?, 0, "a consent before any client");
            let client = connect_http(&mux.url, Era::Legacy).await?;
            eventually("the backend's tools after the consent", LONG, || async {
                tool_names(&client)
                    .await
                    .is_ok_and(|n| n.contains(&"cloud__echo".to_string()))
            })
            .await?;
            assert_eq!(
                call_text(&client, "cloud__echo", json!({ "text": "hi" })).await?,
                "cloud: hi"
            );
            assert_eq!(t.auth.consents().await?, 1);
            Ok(())
        }
        .await;
        with_log(r, &mux)?;
        mux.terminate().await?;

        // Out of band: a fresh store, a serving mcpmux with no client, and a login.
        std::fs::remove_dir_all(t.state())?;
        let mux = MuxHttp::start_with(&config, &env).await?;
        let r: Result = async {
            let (code, out) = t
                .run(&["auth", "login", "cloud", "-c", config.to_str().unwrap()])
                .await?;
            assert_eq!(code, Some(0), "{out}");
            assert!(out.contains("cloud: authorized"), "{out}");
            assert_eq!(t.auth.consents().await?, 2);
            eventually("the running mcpmux to pick up the login", LONG, || async {
                mux.log.text().contains("found new tokens")
            })
            .await?;
            let client = connect_http(&mux.url, Era::Legacy).await?;
            eventually("the backend's tools", LONG, || async {
                tool_names(&client)
                    .await
                    .is_ok_and(|n| n.contains(&"cloud__echo".to_string()))
            })
            .await?;
            assert_eq!(
                t.auth.consents().await?,
                2,
                "the serving mcpmux asked for its own consent"
            );
            let (access, refresh) = t.tokens()?;
            assert_no_tokens(&mux.log.text(), &[&access, &refresh]);
            Ok(())
        }
        .await;
        with_log(r, &mux)
    })
}

/// Calls that all meet a dead refresh token at once (the server revoked
/// it, the access token expired) share one consent, and every one of them
/// succeeds after it.
fn concurrent_refusals() -> Result {
    block_on(async {
        let t = Setup::new("oauth-concurrent", 2).await?;
        let config =
            t.config(json!({ "eager_auth": true, "listen": { "transport": "http", "address": "127.0.0.1:0" } }));
        let env = t.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mux = MuxHttp::start_with(&config, &env).await?;
        let r: Result = async {
            let client = connect_http(&mux.url, Era::Legacy).await?;
            eventually("the backend's tools", LONG, || async {
                tool_names(&client)
                    .await
                    .is_ok_and(|n| n.contains(&"cloud__echo".to_string()))
            })
            .await?;
            assert_eq!(t.auth.consents().await?, 1);
            t.auth.revoke_refresh_tokens().await?;
            tokio::time::sleep(Duration::from_millis(2500)).await;
            let calls = (0..6).map(|i| call_text(&client, "cloud__echo", json!({ "text": format!("call {i}") })));
            for (i, r) in futures::future::join_all(calls).await.into_iter().enumerate() {
                assert_eq!(r?, format!("cloud: call {i}"));
            }
            assert_eq!(t.auth.consents().await?, 2, "one consent for all the refused calls");
            Ok(())
        }
        .await;
        with_log(r, &mux)
    })
}
