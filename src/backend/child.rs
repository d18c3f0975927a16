//! A command backend's child process as an rmcp transport (in place of rmcp's
//! `TokioChildProcess`, which reads stdout with no say in how): messages go
//! to its stdin, its stdout is read through the `max_message_bytes` bound of
//! [`super::lines`], and closing it ends the child the way the MCP stdio
//! transport asks — stdin closed, then SIGTERM, then SIGKILL — to the whole
//! process group; a child dropped unclosed is killed.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use process_wrap::tokio::{ChildWrapper, CommandWrap};
use rmcp::RoleClient;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::transport::async_rw::AsyncRwTransport;
use tokio::process::{ChildStderr, ChildStdin, ChildStdout};

use super::lines::Bounded;

/// How long each step of a graceful end waits for the child to exit.
const EXIT_WAIT: Duration = Duration::from_secs(3);

pub struct Child {
    process: Option<Box<dyn ChildWrapper>>,
    io: AsyncRwTransport<RoleClient, Bounded<ChildStdout>, ChildStdin>,
}

impl Child {
    /// Starts `cmd` with piped stdio; also returns its stderr.
    pub fn spawn(
        mut cmd: CommandWrap,
        max_message_bytes: usize,
        backend: Arc<str>,
    ) -> std::io::Result<(Child, ChildStderr)> {
        cmd.command_mut()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut process = cmd.spawn()?;
        let missing = || std::io::Error::other("a pipe to the child is missing");
        let stdin = process.stdin().take().ok_or_else(missing)?;
        let stdout = process.stdout().take().ok_or_else(missing)?;
        let stderr = process.stderr().take().ok_or_else(missing)?;
        let stdout = Bounded::new(stdout, max_message_bytes, backend);
        // rmcp's own cap sits one byte above a line at the limit, so the
        // stump `Bounded` leaves of a longer line is dropped unparsed.
        let io = AsyncRwTransport::new(stdout, stdin).with_max_line_length(max_message_bytes.saturating_add(1));
        Ok((
            Child {
                process: Some(process),
                io,
            },
            stderr,
        ))
    }

    pub fn id(&self) -> Option<u32> {
        self.process.as_ref()?.id()
    }

    /// Stdin closed, then SIGTERM, then SIGKILL, each after `EXIT_WAIT`.
    async fn end(&mut self) -> std::io::Result<()> {
        let Some(process) = self.process.as_mut() else {
            return Ok(());
        };
        self.io.close().await?;
        if !exited(process).await {
            if let Err(e) = process.signal(libc::SIGTERM) {
                tracing::debug!("SIGTERM to a backend failed: {e}");
            }
            if !exited(process).await {
                Box::into_pin(process.kill()).await?;
            }
        }
        self.process = None;
        Ok(())
    }
}

/// Whether the child exits (or cannot be waited for) within `EXIT_WAIT`.
async fn exited(process: &mut Box<dyn ChildWrapper>) -> bool {
    tokio::time::timeout(EXIT_WAIT, process.wait()).await.is_ok()
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Some(mut process) = self.process.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            // Killed and reaped, not left a zombie.
            rt.spawn(async move {
                if let Err(e) = Box::into_pin(process.kill()).await {
                    tracing::debug!("killing a backend failed: {e}");
                }
            });
        }
    }
}

impl Transport<RoleClient> for Child {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.io.send(item)
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<RoleClient>>> + Send {
        self.io.receive()
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.end()
    }
}
