//! The user's part of an OAuth consent: a loopback listener that receives
//! the authorization server's redirect (`http://127.0.0.1:PORT/callback`),
//! and the opener that shows the authorization URL — `$BROWSER` when set
//! (entries separated by `:`, `%s` standing for the URL), else the desktop's
//! `xdg-open` — or only logs it. One consent runs at a time in a process, so
//! a fixed callback port can serve every backend in turn.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// How long a consent waits for the user.
pub const CONSENT_TIMEOUT: Duration = Duration::from_secs(300);

/// Serializes consents within this process.
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The loopback listener of one consent.
pub struct Callback {
    listener: tokio::net::TcpListener,
    pub redirect_uri: String,
}

impl Callback {
    /// Listens on 127.0.0.1:`port` (0: a free port).
    pub async fn bind(port: u16) -> Result<Callback, String> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("cannot listen for the OAuth redirect on 127.0.0.1:{port}: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        Ok(Callback {
            listener,
            redirect_uri: format!("http://127.0.0.1:{port}/callback"),
        })
    }

    /// Waits for the redirect carrying `state` and returns its full URL
    /// (with `code`), or why the consent failed. A request with another
    /// state (a stray page, an old tab) is turned away and the wait goes on.
    pub async fn wait(self, state: Option<&str>, timeout: Duration) -> Result<String, String> {
        let work = async {
            loop {
                let Ok((mut stream, _)) = self.listener.accept().await else {
                    continue;
                };
                let Some(target) = read_target(&mut stream).await else {
                    continue;
                };
                let Ok(url) = url::Url::parse(&format!("http://127.0.0.1{target}")) else {
                    respond(&mut stream, "400 Bad Request", "mcpmux: not an authorization redirect").await;
                    continue;
                };
                if url.path() != "/callback" {
                    respond(&mut stream, "404 Not Found", "mcpmux: nothing here").await;
                    continue;
                }
                let param = |k: &str| url.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.into_owned());
                if state.is_some() && param("state").as_deref() != state {
                    respond(
                        &mut stream,
                        "400 Bad Request",
                        "mcpmux: this is not the authorization mcpmux is waiting for",
                    )
                    .await;
                    continue;
                }
                if let Some(error) = param("error") {
                    let detail = param("error_description")
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default();
                    respond(
                        &mut stream,
                        "200 OK",
                        "mcpmux: the authorization was refused. You can close this tab.",
                    )
                    .await;
                    return Err(format!("the authorization server refused: {error}{detail}"));
                }
                if param("code").is_none() {
                    respond(&mut stream, "400 Bad Request", "mcpmux: the redirect carries no code").await;
                    continue;
                }
                respond(&mut stream, "200 OK", "mcpmux: authorized. You can close this tab.").await;
                return Ok(format!("{}{target}", self.redirect_uri.trim_end_matches("/callback")));
            }
        };
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| format!("no authorization arrived within {timeout:?}"))?
    }
}

/// The request target of an HTTP/1 request (`/callback?code=...`).
async fn read_target(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let mut first = head.lines().next()?.split(' ');
    let (method, target) = (first.next()?, first.next()?);
    (method == "GET" && target.starts_with('/')).then(|| target.to_string())
}

async fn respond(stream: &mut tokio::net::TcpStream, status: &str, text: &str) {
    let body = format!("<!doctype html><title>mcpmux</title><p>{text}</p>\n");
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Shows `url` to the user: prints it on stderr, and with `open` starts a browser.
pub fn show(backend: &str, url: &str, open: bool) {
    // Printed, not logged: the log redacts URL queries, and this one's
    // query (client, PKCE challenge, state, redirect) is the point. Nothing
    // in it is secret.
    eprintln!("mcpmux: to authorize backend {backend}, open this URL in a browser:\n  {url}");
    tracing::info!(backend, "waiting for the authorization to arrive");
    if !open {
        return;
    }
    let browser = std::env::var("BROWSER").ok().filter(|b| !b.trim().is_empty());
    let candidates: Vec<Vec<String>> = match &browser {
        Some(list) => list
            .split(':')
            .filter_map(|entry| shlex::split(entry).filter(|argv| !argv.is_empty()))
            .map(|mut argv| {
                if argv.iter().any(|a| a.contains("%s")) {
                    argv.iter_mut().for_each(|a| *a = a.replace("%s", url));
                } else {
                    argv.push(url.to_string());
                }
                argv
            })
            .collect(),
        None => vec![vec!["xdg-open".into(), url.to_string()]],
    };
    for argv in candidates {
        // Never on mcpmux's stdout: on stdio that is the MCP transport.
        let mut cmd = std::process::Command::new(&argv[0]);
        for var in crate::daemon::SYSTEMD_ENV {
            cmd.env_remove(var);
        }
        let spawned = cmd
            .args(&argv[1..])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        match spawned {
            Ok(mut child) => {
                // Reap it in the background; a browser may run for long.
                std::thread::spawn(move || child.wait());
                return;
            }
            Err(e) => tracing::debug!(program = %argv[0], "cannot start the browser: {e}"),
        }
    }
    tracing::warn!(backend, "could not open a browser; open the URL above yourself");
}
