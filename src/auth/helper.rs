//! The credential helper (`auth.type: command`): a command, run directly
//! (no shell) with a 30 s timeout, whose trimmed stdout is a bearer token.
//! The token is cached until a JWT's `exp` (read without verifying the
//! signature) or the configured `ttl`, and minted again ahead of expiry;
//! concurrent requests share one run. When the backend rejects the token, the
//! helper runs once more. A failing helper yields an error carrying the last
//! line of its stderr, never its stdout.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use tokio::io::AsyncReadExt as _;

/// How long a helper may run.
pub const HELPER_TIMEOUT: Duration = Duration::from_secs(30);
/// How far ahead of its expiry a token is minted again, at most (a
/// short-lived token is renewed when half its life is left).
const RENEW_AHEAD: Duration = Duration::from_secs(60);

/// A credential helper and the token it last printed.
pub struct Helper {
    argv: Vec<String>,
    ttl: Duration,
    cached: tokio::sync::Mutex<State>,
}

/// What the helper's last run left.
enum State {
    None,
    Minted {
        token: String,
        renew_at: Instant,
    },
    /// It failed: requests within `FAILURE_HOLD` get the same error instead
    /// of each running the helper again.
    Failed {
        error: String,
        at: Instant,
    },
}

/// How long a failure of the helper answers for it.
const FAILURE_HOLD: Duration = Duration::from_secs(5);

impl Helper {
    pub fn new(argv: Vec<String>, ttl: Duration) -> Helper {
        Helper {
            argv,
            ttl,
            cached: tokio::sync::Mutex::new(State::None),
        }
    }

    /// The current token, minting one when there is none or it is due.
    pub async fn token(&self) -> Result<String, String> {
        let mut cached = self.cached.lock().await;
        match &*cached {
            State::Minted { token, renew_at } if Instant::now() < *renew_at => Ok(token.clone()),
            State::Failed { error, at } if at.elapsed() < FAILURE_HOLD => Err(error.clone()),
            _ => self.mint(&mut cached).await,
        }
    }

    /// A token other than `rejected`: the cached one if someone already
    /// minted a new one meanwhile, else a fresh run of the helper.
    pub async fn replace(&self, rejected: Option<&str>) -> Result<String, String> {
        let mut cached = self.cached.lock().await;
        match &*cached {
            State::Minted { token, renew_at } if Some(token.as_str()) != rejected && Instant::now() < *renew_at => {
                Ok(token.clone())
            }
            State::Failed { error, at } if at.elapsed() < FAILURE_HOLD => Err(error.clone()),
            _ => self.mint(&mut cached).await,
        }
    }

    async fn mint(&self, cached: &mut State) -> Result<String, String> {
        let token = run(&self.argv).await.inspect_err(|error| {
            *cached = State::Failed {
                error: error.clone(),
                at: Instant::now(),
            }
        })?;
        let life = jwt_expiry(&token)
            .map(|exp| exp.duration_since(SystemTime::now()).unwrap_or_default())
            .unwrap_or(self.ttl);
        let ahead = RENEW_AHEAD.min(life / 2);
        tracing::debug!(lifetime = ?life, "the credential helper minted a token");
        *cached = State::Minted {
            token: token.clone(),
            renew_at: Instant::now() + (life - ahead),
        };
        Ok(token)
    }
}

/// Runs the helper: its trimmed stdout, or why not (with the last line of its stderr).
pub(super) async fn run(argv: &[String]) -> Result<String, String> {
    let program = &argv[0];
    let mut cmd = tokio::process::Command::new(program);
    for var in crate::daemon::SYSTEMD_ENV {
        cmd.env_remove(var);
    }
    let mut child = cmd
        .args(&argv[1..])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start the credential helper {program:?}: {e}"))?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let work = async {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let (a, b) = tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
        a.and(b).map_err(|e| e.to_string())?;
        let status = child.wait().await.map_err(|e| e.to_string())?;
        Ok::<_, String>((status, out, err))
    };
    let (status, out, err) = tokio::time::timeout(HELPER_TIMEOUT, work)
        .await
        .map_err(|_| format!("the credential helper {program:?} did not finish within {HELPER_TIMEOUT:?}"))??;
    let printed = String::from_utf8_lossy(&out);
    let printed = printed.trim();
    let last_err = String::from_utf8_lossy(&err)
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| {
            // A helper traced with `set -x` echoes its token on stderr.
            let l = if printed.len() >= 8 {
                l.replace(printed, "[token]")
            } else {
                l.to_string()
            };
            format!(": {}", crate::redact::urls(&l))
        })
        .unwrap_or_default();
    if !status.success() {
        return Err(format!("the credential helper {program:?} failed ({status}){last_err}"));
    }
    let token = std::str::from_utf8(&out)
        .map_err(|_| format!("the credential helper {program:?} printed something that is not UTF-8"))?
        .trim()
        .to_string();
    if token.is_empty() {
        return Err(format!("the credential helper {program:?} printed no token{last_err}"));
    }
    if token.chars().any(|c| c.is_control() || c == ' ') {
        return Err(format!(
            "the credential helper {program:?} printed more than one token (a token has no spaces or line breaks)"
        ));
    }
    Ok(token)
}

/// When a JWT expires (its `exp` claim; the signature is not checked: the
/// backend does that), or `None` for anything that is not a JWT with `exp`.
pub fn jwt_expiry(token: &str) -> Option<SystemTime> {
    let mut parts = token.split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?.as_f64()?;
    (0.0..1e11)
        .contains(&exp)
        .then(|| UNIX_EPOCH + Duration::from_secs_f64(exp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", b(r#"{"alg":"none"}"#), b(claims))
    }

    #[test]
    fn reads_the_expiry_of_jwts_only() {
        assert_eq!(
            jwt_expiry(&jwt(r#"{"exp":1700000000}"#)),
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        assert_eq!(jwt_expiry(&jwt(r#"{"sub":"x"}"#)), None);
        assert_eq!(jwt_expiry("opaque-token"), None);
        assert_eq!(jwt_expiry("a.b.c"), None);
    }

    #[tokio::test]
    async fn caches_until_due_and_reports_stderr_not_stdout() {
        let dir = std::env::temp_dir().join(format!("mcpmux-helper-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let count = dir.join("count");
        let script = format!("echo x >> {0}; echo \"tok-$(wc -l < {0})\"", count.display());
        let h = Helper::new(vec!["sh".into(), "-c".into(), script], Duration::from_secs(300));
        assert_eq!(h.token().await.unwrap(), "tok-1");
        assert_eq!(h.token().await.unwrap(), "tok-1");
        assert_eq!(h.replace(Some("tok-1")).await.unwrap(), "tok-2");
        assert_eq!(
            h.replace(Some("tok-1")).await.unwrap(),
            "tok-2",
            "a rejected token already replaced is not minted again"
        );
        let failures = dir.join("failures");
        let failing = Helper::new(
            vec![
                "sh".into(),
                "-c".into(),
                format!(
                    "echo x >> {}; echo secret-out; echo first >&2; echo 'login expired' >&2; exit 3",
                    failures.display()
                ),
            ],
            Duration::from_secs(1),
        );
        let e = failing.token().await.unwrap_err();
        assert!(e.ends_with(": login expired"), "{e}");
        assert!(!e.contains("secret-out"), "{e}");
        assert_eq!(
            failing.replace(None).await.unwrap_err(),
            e,
            "a failure answers for a while"
        );
        let runs = std::fs::read_to_string(&failures).unwrap().lines().count();
        assert_eq!(runs, 1, "the failing helper ran again at once");
        let traced = Helper::new(
            vec![
                "sh".into(),
                "-c".into(),
                "echo tok-traced-123; echo '+ echo tok-traced-123' >&2; exit 1".into(),
            ],
            Duration::from_secs(1),
        );
        let e = traced.token().await.unwrap_err();
        assert!(!e.contains("tok-traced-123") && e.contains("[token]"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
