//! `listen.metrics`: a Prometheus scrape of a serving mcpmux, with a real
//! backend called, failing, killed and reconnected, and one that never
//! starts — requests by method, failures by kind, the latency histogram, up
//! and reconnects per backend — and a stdio instance whose metrics address
//! is taken, which warns and serves MCP all the same.

use std::time::Duration;

use libtest_mimic::Trial;
use serde_json::json;

use crate::harness::*;
use crate::trial;

pub fn all() -> Vec<Trial> {
    vec![
        trial("metrics/scrape_shows_each_backend", scrape),
        trial("metrics/an_address_in_use_is_not_fatal", address_in_use),
    ]
}

const LONG: Duration = Duration::from_secs(20);

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

async fn scrape_text(url: &str) -> Result<String> {
    let r = reqwest::get(url).await?;
    assert!(r.status().is_success(), "{url}: {}", r.status());
    Ok(r.text().await?)
}

/// The value of the sample line that starts with `series` (name and labels).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

fn scrape() -> Result {
    block_on(async {
        let s = Scratch::new("metrics-scrape");
        let port = free_port()?;
        let config = s.config(&json!({
            "listen": {"transport": "http", "address": "127.0.0.1:0", "metrics": format!("127.0.0.1:{port}")},
            "connect_retry": {"max_delay": "1s"},
            "backends": [
                s.backend("one", &[]),
                {"name": "gone", "transport": "command", "command": [s.dir.join("no-such-program").display().to_string()]},
            ],
        }));
        let mux = MuxHttp::start(&config).await?;
        let url = format!("http://127.0.0.1:{port}/metrics");
        let client = connect_http(&mux.url, Era::Legacy).await?;
        for _ in 0..3 {
            call_text(&client, "one__echo", json!({"text": "hi"})).await?;
        }
        let failed = call(&client, "one__fail", json!({})).await;
        assert!(failed.is_err(), "one__fail answered {failed:?}");
        let text = scrape_text(&url).await?;
        let get = |series: &str| value(&text, series);
        assert_eq!(
            get(r#"mcpmux_backend_requests_total{backend="one",method="tools/call"}"#),
            Some(4.0),
            "{text}"
        );
        assert_eq!(
            get(r#"mcpmux_backend_errors_total{backend="one",kind="error"}"#),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            get(r#"mcpmux_backend_request_duration_seconds_count{backend="one"}"#),
            Some(4.0),
            "{text}"
        );
        assert!(
            get(r#"mcpmux_backend_request_duration_seconds_sum{backend="one"}"#).is_some_and(|s| s > 0.0),
            "{text}"
        );
        assert_eq!(get(r#"mcpmux_backend_up{backend="one"}"#), Some(1.0), "{text}");
        assert_eq!(get(r#"mcpmux_backend_up{backend="gone"}"#), Some(0.0), "{text}");
        assert_eq!(
            get(r#"mcpmux_backend_reconnects_total{backend="one"}"#),
            Some(0.0),
            "{text}"
        );
        // The backend killed: it is restarted, and the scrape counts a reconnect.
        let pid: i32 = call_text(&client, "one__pid", json!({})).await?.parse()?;
        unsafe { libc::kill(pid, libc::SIGKILL) };
        eventually("a reconnect to show in the metrics", LONG, || async {
            scrape_text(&url).await.is_ok_and(|t| {
                value(&t, r#"mcpmux_backend_reconnects_total{backend="one"}"#) == Some(1.0)
                    && value(&t, r#"mcpmux_backend_up{backend="one"}"#) == Some(1.0)
            })
        })
        .await?;
        // Anything but /metrics is not found.
        let other = reqwest::get(format!("http://127.0.0.1:{port}/")).await?;
        assert_eq!(other.status().as_u16(), 404);
        client.cancel().await?;
        mux.terminate().await?;
        Ok(())
    })
}

fn address_in_use() -> Result {
    block_on(async {
        let s = Scratch::new("metrics-in-use");
        let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
        let port = taken.local_addr()?.port();
        let config = s.config(&json!({
            "listen": {"transport": "stdio", "metrics": format!("127.0.0.1:{port}")},
            "backends": [s.backend("one", &[])],
        }));
        let log = Log::default();
        let client = connect_stdio(&config, Era::Legacy, &log).await?;
        assert_eq!(call_text(&client, "one__echo", json!({"text": "hi"})).await?, "one: hi");
        eventually("a warning about the metrics address", LONG, || async {
            log.text().contains("cannot serve metrics at")
        })
        .await?;
        client.cancel().await?;
        drop(taken);
        Ok(())
    })
}
