//! Credentials: secrets never reach mcpmux's output or log; bearer and
//! header credentials reach the HTTP backends that check them; a credential
//! helper's tokens rotate and expire without a client noticing, and a
//! failing helper fails only its own backend.

use std::time::Duration;

use libtest_mimic::Trial;
use serde_json::{Value, json};

use crate::harness::*;
use crate::trial;

pub fn all() -> Vec<Trial> {
    vec![
        trial("secrets_never_reach_the_log_or_list", secrets_stay_out),
        trial("http_backends_receive_their_credentials", http_credentials),
        trial("credential_helper_tokens_rotate_unnoticed", helper_rotation),
        trial("credential_helper_renews_a_jwt_ahead_of_expiry", helper_jwt),
        trial("failing_credential_helper_fails_only_its_backend", helper_failing),
        trial(
            "a_redirect_to_another_origin_carries_no_credential",
            cross_origin_redirect,
        ),
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
                let all = output_text(&out);
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
        let listed = list_json(&config).await?;
        let report = &listed.report;
        assert!(
            listed.has_tool("bearer__echo") && listed.has_tool("header__echo"),
            "{report}"
        );
        assert!(!listed.has_prefix("wrong"));
        let wrong = listed.status("wrong");
        assert!(wrong.contains("401"), "{wrong}");
        assert_eq!(listed.code, Some(1), "a backend that cannot authenticate fails list");
        Ok(())
    })
}

/// A credential helper that counts its runs (a line each in `runs`) and
/// prints the token in `token`.
fn counting_helper(s: &Scratch) -> Value {
    let script = format!(
        "echo run >> '{}'; cat '{}'",
        s.dir.join("runs").display(),
        s.dir.join("helper-token").display()
    );
    json!({ "type": "command", "command": ["sh", "-c", script] })
}

fn lines_in(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

/// Tokens the backend stops accepting (401 from one backend, 403 from the
/// other) are replaced by the helper's new one and the request retried: the
/// client sees every call succeed. A burst of calls that all meet the
/// rotation runs the helper once.
fn helper_rotation() -> Result {
    block_on(async {
        let s = Scratch::new("helper-rotation");
        let accepted = s.dir.join("backend-token");
        let rejections = s.dir.join("rejections");
        let rejections_arg = rejections.display().to_string();
        let accepted_arg = accepted.display().to_string();
        // Written whole (temp file, rename): a reader never sees an empty token.
        let set_token = |t: &str| -> Result {
            for path in [accepted.clone(), s.dir.join("helper-token")] {
                let tmp = path.with_extension("tmp");
                std::fs::write(&tmp, t)?;
                std::fs::rename(&tmp, &path)?;
            }
            Ok(())
        };
        set_token("tok-1")?;
        let unauthorized = HttpServer::test_backend(
            &s,
            "api",
            &[
                "--require-bearer-file",
                &accepted_arg,
                "--rejections-file",
                &rejections_arg,
            ],
        )
        .await?;
        let forbidden = HttpServer::test_backend(
            &s,
            "api403",
            &[
                "--require-bearer-file",
                &accepted_arg,
                "--deny-status",
                "403",
                "--rejections-file",
                &rejections_arg,
            ],
        )
        .await?;
        let mut api = unauthorized.entry("api");
        api["auth"] = counting_helper(&s);
        let mut api403 = forbidden.entry("api403");
        api403["auth"] = counting_helper(&s);
        let (mux, client) = http_session(&s, vec![api, api403]).await?;
        let r: Result = async {
            for round in ["tok-1", "tok-2", "tok-3"] {
                set_token(round)?;
                for tool in ["api__echo", "api403__echo"] {
                    let said = format!("after rotating to {}", &round[4..]);
                    let text = call_text(&client, tool, json!({ "text": said })).await?;
                    assert!(text.ends_with(&said), "{tool} {said}: {text}");
                }
            }
            assert!(lines_in(&rejections) >= 4, "each rotation met a refusal first");
            // A burst that meets a rotation together runs the helper once.
            set_token("tok-4")?;
            let before = lines_in(&s.dir.join("runs"));
            let calls = (0..8).map(|i| call_text(&client, "api__echo", json!({ "text": format!("burst {i}") })));
            for r in futures::future::join_all(calls).await {
                r?;
            }
            assert_eq!(
                lines_in(&s.dir.join("runs")) - before,
                1,
                "one helper run for the whole burst"
            );
            Ok(())
        }
        .await;
        with_log(r, &mux)?;
        for token in ["tok-1", "tok-2", "tok-3", "tok-4"] {
            assert!(!mux.log.text().contains(token), "{token} reached the log");
        }
        Ok(())
    })
}

/// A helper minting JWTs that live 6 s: mcpmux renews the token ahead of
/// its `exp` (the backend refuses nothing) while calls go on for 9 s.
fn helper_jwt() -> Result {
    block_on(async {
        let s = Scratch::new("helper-jwt");
        let rejections = s.dir.join("rejections");
        let runs = s.dir.join("runs");
        let mint = format!(
            "import base64, json, time\n\
             open({runs:?}, 'a').write('run\\n')\n\
             b = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b'=').decode()\n\
             print(b({{'alg': 'none'}}) + '.' + b({{'exp': time.time() + 6}}) + '.sig')",
            runs = runs.display().to_string()
        );
        let web = HttpServer::test_backend(
            &s,
            "jwt",
            &["--require-jwt", "--rejections-file", &rejections.display().to_string()],
        )
        .await?;
        let mut entry = web.entry("jwt");
        entry["auth"] = json!({ "type": "command", "command": ["python3", "-c", mint] });
        let (mux, client) = http_session(&s, vec![entry]).await?;
        let r: Result = async {
            for i in 0..10 {
                call_text(&client, "jwt__echo", json!({ "text": format!("call {i}") })).await?;
                tokio::time::sleep(Duration::from_millis(900)).await;
            }
            assert_eq!(lines_in(&rejections), 0, "a token was used past its exp");
            assert!(lines_in(&runs) >= 2, "the token was renewed ({} runs)", lines_in(&runs));
            Ok(())
        }
        .await;
        with_log(r, &mux)
    })
}

/// A helper that fails: its backend's status carries the last line of the
/// helper's stderr (never its stdout); the other backend serves on.
fn helper_failing() -> Result {
    block_on(async {
        let s = Scratch::new("helper-failing");
        let web = HttpServer::test_backend(&s, "web", &["--require-jwt"]).await?;
        let mut bad = web.entry("bad");
        bad["auth"] = json!({ "type": "command", "command": ["sh", "-c",
            "echo half-a-s3cret-token; echo 'step 1' >&2; echo 'login expired: run acme login' >&2; exit 2"] });
        let good = s.backend("good", &[]);
        let config = s.config(&json!({ "backends": [bad, good] }));
        let listed = list_json(&config).await?;
        let status = listed.status("bad");
        assert!(status.contains("login expired: run acme login"), "{status}");
        let all = &listed.output;
        assert!(
            !all.contains("half-a-s3cret-token"),
            "the helper's stdout leaked:\n{all}"
        );
        assert!(listed.has_tool("good__echo"), "{}", listed.report);
        assert_eq!(listed.code, Some(1));
        Ok(())
    })
}

/// A backend that answers 307 to another origin: bearer, custom-header and
/// credential-helper tokens never reach that origin (the redirect is not
/// followed, and the backend fails with the redirect in its status), while
/// the other backends serve on.
fn cross_origin_redirect() -> Result {
    block_on(async {
        let s = Scratch::new("redirect");
        let seen = s.dir.join("elsewhere.log");
        let elsewhere =
            HttpServer::test_backend(&s, "elsewhere", &["--log-headers", &seen.display().to_string()]).await?;
        let asked = s.dir.join("moved.log");
        let moved = HttpServer::test_backend(
            &s,
            "moved",
            &[
                "--redirect-to",
                &elsewhere.url,
                "--log-headers",
                &asked.display().to_string(),
            ],
        )
        .await?;
        let mut bearer = moved.entry("bearer");
        bearer["auth"] = json!({ "type": "bearer", "token": "s3cret-redirect-bearer" });
        let mut header = moved.entry("header");
        header["auth"] = json!({ "type": "header", "header": "X-Api-Key", "value": "s3cret-redirect-key" });
        let mut helper = moved.entry("helper");
        helper["auth"] = json!({ "type": "command", "command": ["sh", "-c", "echo s3cret-redirect-helper"] });
        let config = s.config(&json!({ "backends": [bearer, header, helper, s.backend("one", &[])] }));
        let listed = list_json(&config).await?;
        let report = &listed.report;
        assert!(listed.has_tool("one__echo"), "{report}");
        for b in ["bearer", "header", "helper"] {
            assert!(!listed.has_prefix(b), "{b} followed the redirect: {report}");
        }
        // The backend itself got them (and answered with the redirect)...
        let at_backend = std::fs::read_to_string(&asked).unwrap_or_default();
        for secret in [
            "s3cret-redirect-bearer",
            "s3cret-redirect-key",
            "s3cret-redirect-helper",
        ] {
            assert!(
                at_backend.contains(secret),
                "{secret} never reached the backend:\n{at_backend}"
            );
        }
        // ...the other origin never did.
        let recorded = std::fs::read_to_string(&seen).unwrap_or_default();
        for secret in [
            "s3cret-redirect-bearer",
            "s3cret-redirect-key",
            "s3cret-redirect-helper",
        ] {
            assert!(
                !recorded.contains(secret),
                "{secret} crossed to another origin:\n{recorded}"
            );
        }
        Ok(())
    })
}
