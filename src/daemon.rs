//! Living as a systemd service: the sockets systemd passes (taken once, at
//! start, and kept from every child), the notifications it listens for on
//! `NOTIFY_SOCKET` (READY once the endpoint is bound and every backend that
//! needs no one had its first try, a STATUS kept current, RELOADING around a
//! reload, STOPPING, and WATCHDOG pings when the unit asks for them), and the
//! status line those carry. Outside systemd every notification is a no-op.

use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::Duration;

use sd_notify::NotifyState;
use tokio_util::sync::CancellationToken;

use crate::backend::{Backend, Status};
use crate::hub::Hub;

/// The variables systemd uses to talk to its service: kept from children.
pub const SYSTEMD_ENV: &[&str] = &[
    "LISTEN_FDS",
    "LISTEN_PID",
    "LISTEN_FDNAMES",
    "NOTIFY_SOCKET",
    "WATCHDOG_USEC",
    "WATCHDOG_PID",
];

/// The listening sockets systemd passed (socket activation), with their
/// names; the `LISTEN_*` variables are removed so nothing started later sees them.
///
/// Call it first thing in `main`, before any thread exists (it changes the
/// environment).
pub fn take_activation() -> Vec<(RawFd, String)> {
    let fds = match sd_notify::listen_fds_with_names() {
        Ok(fds) => fds.collect(),
        Err(e) => {
            eprintln!("mcpmux: ignoring the sockets systemd passed: {e}");
            Vec::new()
        }
    };
    // SAFETY: called from main before the runtime or any other thread starts.
    unsafe {
        std::env::remove_var("LISTEN_FDS");
        std::env::remove_var("LISTEN_PID");
        std::env::remove_var("LISTEN_FDNAMES");
    }
    fds
}

/// Notifications to systemd (nothing when not started by it).
#[derive(Clone)]
pub struct Notifier {
    enabled: bool,
}

impl Default for Notifier {
    fn default() -> Self {
        Notifier {
            enabled: std::env::var_os("NOTIFY_SOCKET").is_some(),
        }
    }
}

impl Notifier {
    fn send(&self, states: &[NotifyState<'_>]) {
        if self.enabled
            && let Err(e) = sd_notify::notify(states)
        {
            tracing::debug!("cannot notify systemd: {e}");
        }
    }

    pub fn ready(&self, status: &str) {
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    pub fn status(&self, status: &str) {
        self.send(&[NotifyState::Status(status)]);
    }

    /// RELOADING=1 with the time it began (what `Type=notify-reload` expects).
    pub fn reloading(&self) {
        match NotifyState::monotonic_usec_now() {
            Ok(now) => self.send(&[
                NotifyState::Reloading,
                now,
                NotifyState::Status("reloading the configuration"),
            ]),
            Err(_) => self.send(&[NotifyState::Reloading]),
        }
    }

    pub fn stopping(&self) {
        self.send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    }

    /// Pings the watchdog at half its period until `stop`, when the unit set `WatchdogSec`.
    pub fn watchdog(&self, stop: CancellationToken) {
        let Some(period) = sd_notify::watchdog_enabled().filter(|_| self.enabled) else {
            return;
        };
        let this = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period / 2);
            loop {
                tokio::select! {
                    _ = tick.tick() => this.send(&[NotifyState::Watchdog]),
                    () = stop.cancelled() => return,
                }
            }
        });
    }
}

/// Where one backend stands, for the status line.
fn state(b: &Backend) -> &'static str {
    if b.authorizing() {
        return "awaiting authorization";
    }
    match &*b.status() {
        Status::Ready { .. } => "up",
        Status::Connecting | Status::Down { retry_at: Some(_), .. } => "pending",
        Status::Down { retry_at: None, .. } => "failed",
        Status::Stopped => "stopped",
    }
}

/// A one-line summary: backends up, pending, failed and awaiting
/// authorization (named), and the tools served.
pub fn status_line(hub: &Hub) -> String {
    let backends = hub.backends();
    let mut up = 0;
    let mut pending = Vec::new();
    let mut failed = Vec::new();
    let mut awaiting = Vec::new();
    for b in backends.iter() {
        match state(b) {
            "up" => up += 1,
            "pending" => pending.push(&*b.spec.name),
            "failed" => failed.push(&*b.spec.name),
            "awaiting authorization" => awaiting.push(&*b.spec.name),
            _ => {}
        }
    }
    let mut line = format!("{up}/{} backends up", backends.len());
    for (what, names) in [
        ("pending", &pending),
        ("failed", &failed),
        ("awaiting authorization", &awaiting),
    ] {
        if !names.is_empty() {
            line.push_str(&format!("; {what}: {}", names.join(", ")));
        }
    }
    line.push_str(&format!("; {} tools", hub.router().tools.items.len()));
    line
}

/// Returns once every backend had its first try, not counting consents
/// (they go on after READY, so start-up never waits on a browser).
pub async fn first_tries(hub: &Hub) {
    // Woken by every backend's change of state (a settled first attempt
    // among them); the tick covers a consent starting, which is not one.
    let mut changes = hub.subscribe_changes();
    loop {
        if hub.backends().iter().all(|b| b.settled() || b.authorizing()) {
            return;
        }
        tokio::select! {
            _ = changes.changed() => {}
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
}

/// Keeps systemd's STATUS current until `stop`.
pub fn follow_status(hub: Arc<Hub>, notifier: Notifier, stop: CancellationToken) {
    if !notifier.enabled {
        return;
    }
    tokio::spawn(async move {
        let mut told = String::new();
        loop {
            let now = status_line(&hub);
            if now != told {
                notifier.status(&now);
                told = now;
            }
            // Consents and retries change states without a catalog change: look again soon.
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                () = stop.cancelled() => return,
            }
        }
    });
}

/// The unit files in the repository, written out by `mcpmux install-units`.
const SERVICE: &str = include_str!("../systemd/mcpmux.service");
const SOCKET: &str = include_str!("../systemd/mcpmux.socket");

/// The units with this binary in `ExecStart` (and, with `unix`, the socket
/// on `%t/mcpmux.sock` instead of 127.0.0.1:8080).
pub fn units(binary: &std::path::Path, unix: bool) -> (String, String) {
    let service = SERVICE.replace(
        "ExecStart=/usr/bin/mcpmux serve",
        &format!("ExecStart={} serve", binary.display()),
    );
    let socket = if unix {
        SOCKET
            .replace("ListenStream=127.0.0.1:8080\n", "#ListenStream=127.0.0.1:8080\n")
            .replace(
                "#ListenStream=%t/mcpmux.sock\n#SocketMode=0600",
                "ListenStream=%t/mcpmux.sock\nSocketMode=0600",
            )
    } else {
        SOCKET.to_string()
    };
    (service, socket)
}

/// `mcpmux install-units`: writes mcpmux.service and mcpmux.socket into the
/// user's systemd directory (or `dir`) and says how to start them.
pub fn install_units(
    dir: Option<std::path::PathBuf>,
    unix: bool,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<std::process::ExitCode> {
    let dir = match dir {
        Some(d) => d,
        None => {
            let config = std::env::var_os("XDG_CONFIG_HOME")
                .filter(|v| !v.is_empty())
                .map(std::path::PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".config")))
                .ok_or_else(|| anyhow::anyhow!("neither XDG_CONFIG_HOME nor HOME is set: pass --dir"))?;
            config.join("systemd/user")
        }
    };
    let binary = std::env::current_exe()?;
    let (service, socket) = units(&binary, unix);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("mcpmux.service"), service)?;
    std::fs::write(dir.join("mcpmux.socket"), socket)?;
    writeln!(
        out,
        "wrote {}/mcpmux.service and mcpmux.socket (ExecStart={} serve)",
        dir.display(),
        binary.display()
    )?;
    writeln!(
        out,
        "now run: systemctl --user daemon-reload && systemctl --user enable --now mcpmux.socket"
    )?;
    if unix {
        writeln!(out, "clients: mcpmux connect unix:$XDG_RUNTIME_DIR/mcpmux.sock")?;
    } else {
        writeln!(
            out,
            "clients: http://127.0.0.1:8080/mcp (or `mcpmux connect` for stdio-only clients)"
        )?;
    }
    Ok(std::process::ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn units_name_this_binary_and_the_chosen_socket() {
        let (service, socket) = super::units(std::path::Path::new("/opt/bin/mcpmux"), true);
        assert!(service.contains("ExecStart=/opt/bin/mcpmux serve\n"), "{service}");
        assert!(service.contains("Type=notify\n") && service.contains("ExecReload=kill -HUP $MAINPID"));
        assert!(
            socket.contains("\nListenStream=%t/mcpmux.sock\nSocketMode=0600"),
            "{socket}"
        );
        assert!(socket.contains("#ListenStream=127.0.0.1:8080"), "{socket}");
        let (_, tcp) = super::units(std::path::Path::new("/x"), false);
        assert!(tcp.contains("\nListenStream=127.0.0.1:8080\n"), "{tcp}");
    }
}
