//! The per-message size limit of a command backend's stdout: an `AsyncRead`
//! between the child's stdout and rmcp's line reader that passes lines up to
//! `max_message_bytes` through unchanged and never holds more than a few
//! bytes of a longer one. A line over the limit is cut where it crosses it
//! (rmcp's reader, capped just above the limit, drops the stump unparsed),
//! the rest of it is discarded as it arrives, and if it was the answer to a
//! request (a top-level `"id"` with `"result"` or `"error"`, found by a
//! constant-memory scan of the whole line) an error answer for that id
//! naming the limit takes its place, so the call fails at once instead of
//! waiting for its timeout.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, ReadBuf};

/// How much of the child's output is read at a time.
const CHUNK: usize = 64 * 1024;
/// The longest top-level key or `"id"` value the scan keeps (longer ones are ignored).
const TOKEN: usize = 256;

/// `inner`, with every line longer than `limit` bytes (newline excluded)
/// replaced as described in the module documentation.
pub struct Bounded<R> {
    inner: R,
    limit: usize,
    backend: std::sync::Arc<str>,
    input: Box<[u8]>,
    start: usize,
    end: usize,
    /// Bytes of the current line seen so far (its newline excluded).
    line: usize,
    /// The current line is over the limit; the rest of it is being dropped.
    discarding: bool,
    /// An error answer was already put in the place of the current line.
    answered: bool,
    scan: Scan,
    /// Bytes to hand out before any more of `inner`'s.
    out: Vec<u8>,
    out_at: usize,
}

impl<R> Bounded<R> {
    pub fn new(inner: R, limit: usize, backend: std::sync::Arc<str>) -> Bounded<R> {
        Bounded {
            inner,
            limit,
            backend,
            input: vec![0; CHUNK].into_boxed_slice(),
            start: 0,
            end: 0,
            line: 0,
            discarding: false,
            answered: false,
            scan: Scan::default(),
            out: Vec::new(),
            out_at: 0,
        }
    }

    /// The line in hand crossed the limit: cut it off for rmcp's reader and,
    /// when it is known to answer a request, answer that request with an error.
    fn cut(&mut self) {
        // Not JSON whatever came before, and one byte over rmcp's cap (limit + 1).
        self.out.extend_from_slice(b"x\n");
        self.discarding = true;
        self.answered = false;
        self.answer();
    }

    /// Puts an error answer for the discarded line in its place, once, if
    /// the line is known to be an answer with an id.
    fn answer(&mut self) {
        if self.answered {
            return;
        }
        let Some(id) = self.scan.answer_id() else { return };
        self.answered = true;
        let message = format!(
            "backend {:?} answered with a message over its max_message_bytes limit of {} bytes; the answer was discarded",
            self.backend, self.limit
        );
        tracing::warn!(backend = %self.backend, limit = self.limit, "an answer over max_message_bytes was discarded; its call fails");
        let error = serde_json::json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": { "code": -32603, "message": message },
        });
        self.out.extend_from_slice(error.to_string().as_bytes());
        self.out.push(b'\n');
    }

    /// The discarded line ended.
    fn discarded(&mut self) {
        self.answer();
        if !self.answered {
            tracing::warn!(backend = %self.backend, limit = self.limit, "a message over max_message_bytes was discarded");
        }
        self.discarding = false;
        self.line = 0;
        self.scan = Scan::default();
    }

    /// Moves input into `buf` (or into the discard) until `buf` got
    /// something or the input in hand is used up.
    fn process(&mut self, buf: &mut ReadBuf<'_>) {
        while self.start < self.end && buf.remaining() > 0 && self.out_at == self.out.len() {
            let input = &self.input[self.start..self.end];
            if self.discarding {
                let newline = input.iter().position(|&b| b == b'\n');
                let upto = newline.unwrap_or(input.len());
                for &b in &input[..upto] {
                    self.scan.feed(b);
                }
                self.start += newline.map_or(upto, |n| n + 1);
                if newline.is_some() {
                    self.discarded();
                }
                continue;
            }
            let room = buf.remaining().min(input.len());
            let mut taken = 0;
            let mut over = false;
            for &b in &input[..room] {
                if b == b'\n' {
                    self.line = 0;
                    self.scan = Scan::default();
                } else if self.line == self.limit {
                    over = true;
                    break;
                } else {
                    self.line += 1;
                    self.scan.feed(b);
                }
                taken += 1;
            }
            buf.put_slice(&input[..taken]);
            self.start += taken;
            if over {
                self.cut();
            }
            if taken > 0 {
                return;
            }
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Bounded<R> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.out_at < this.out.len() {
                let n = buf.remaining().min(this.out.len() - this.out_at);
                buf.put_slice(&this.out[this.out_at..this.out_at + n]);
                this.out_at += n;
                if this.out_at == this.out.len() {
                    this.out.clear();
                    this.out_at = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            if this.start == this.end {
                let mut read = ReadBuf::new(&mut this.input);
                ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
                let n = read.filled().len();
                if n == 0 {
                    return Poll::Ready(Ok(()));
                }
                this.start = 0;
                this.end = n;
            }
            let before = buf.filled().len();
            this.process(buf);
            if buf.filled().len() > before {
                return Poll::Ready(Ok(()));
            }
        }
    }
}

/// What a scan of one line, byte by byte, learnt of its top-level object: its
/// `"id"` (raw JSON) and whether it has a `"result"` or `"error"` (an
/// answer) or a `"method"` (a request or notification).
#[derive(Default)]
struct Scan {
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// At depth 1: the next token is a value (after a `:`), not a key.
    value_next: bool,
    capture: Capture,
    token: Vec<u8>,
    key: Vec<u8>,
    id: Option<Vec<u8>>,
    answer: bool,
    method: bool,
}

#[derive(Default, PartialEq, Eq, Clone, Copy)]
enum Capture {
    /// Between tokens.
    #[default]
    None,
    /// In a token that is not kept.
    Skip,
    Key,
    Id,
}

impl Scan {
    fn feed(&mut self, b: u8) {
        if self.in_string {
            self.push(b);
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.in_string = false;
                self.finish();
            }
            return;
        }
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => self.finish(),
            b'"' => {
                self.begin();
                self.in_string = true;
                self.push(b);
            }
            b'{' | b'[' => {
                self.value_next = false;
                self.depth += 1;
            }
            b'}' | b']' => {
                self.finish();
                self.depth = self.depth.saturating_sub(1);
            }
            b':' if self.depth == 1 => {
                self.finish();
                self.value_next = true;
            }
            b',' if self.depth == 1 => {
                self.finish();
                self.value_next = false;
            }
            _ => {
                if self.capture == Capture::None {
                    self.begin();
                }
                self.push(b);
            }
        }
    }

    /// A token starts at the current position: keep it if it is a key or the id.
    fn begin(&mut self) {
        if self.depth != 1 {
            return;
        }
        self.token.clear();
        self.capture = if !self.value_next {
            Capture::Key
        } else if self.key == b"\"id\"" {
            Capture::Id
        } else {
            Capture::Skip
        };
        self.value_next = false;
    }

    fn push(&mut self, b: u8) {
        if matches!(self.capture, Capture::Key | Capture::Id) {
            if self.token.len() < TOKEN {
                self.token.push(b);
            } else {
                self.capture = Capture::Skip;
            }
        }
    }

    /// The token being kept ended.
    fn finish(&mut self) {
        match std::mem::take(&mut self.capture) {
            Capture::None | Capture::Skip => {}
            Capture::Key => {
                self.key = std::mem::take(&mut self.token);
                match self.key.as_slice() {
                    b"\"result\"" | b"\"error\"" => self.answer = true,
                    b"\"method\"" => self.method = true,
                    _ => {}
                }
            }
            Capture::Id => self.id = Some(std::mem::take(&mut self.token)),
        }
    }

    /// The id of the answer this line is, if it is one.
    fn answer_id(&self) -> Option<serde_json::Value> {
        if !self.answer || self.method {
            return None;
        }
        let id: serde_json::Value = serde_json::from_slice(self.id.as_deref()?).ok()?;
        (id.is_string() || id.is_number()).then_some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn scan(line: &str) -> Option<serde_json::Value> {
        let mut s = Scan::default();
        for b in line.bytes() {
            s.feed(b);
        }
        s.answer_id()
    }

    #[test]
    fn finds_the_id_of_an_answer_wherever_it_is() {
        assert_eq!(scan(r#"{"jsonrpc":"2.0","id":7,"result":{"a":1}}"#), Some(7.into()));
        assert_eq!(
            scan(r#"{"result":{"id":3},"id":"x\"y", "jsonrpc":"2.0"}"#),
            Some("x\"y".into())
        );
        assert_eq!(scan(r#"{ "id" : 12 , "error" : {} }"#), Some(12.into()));
        assert_eq!(
            scan(r#"{"jsonrpc":"2.0","id":7,"result":{"text":"unterminated"#),
            Some(7.into())
        );
    }

    #[test]
    fn requests_notifications_and_junk_have_no_answer_id() {
        assert_eq!(
            scan(r#"{"jsonrpc":"2.0","id":7,"method":"sampling/createMessage"}"#),
            None
        );
        assert_eq!(
            scan(r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"id":1,"result":2}}"#),
            None
        );
        assert_eq!(scan(r#"{"jsonrpc":"2.0","id":{"a":1},"result":{}}"#), None);
        assert_eq!(scan("not json at all"), None);
        assert_eq!(scan(r#"{"params":{"id":5},"result":1}"#), None);
    }

    async fn through(input: &[u8], limit: usize) -> String {
        let mut out = Vec::new();
        Bounded::new(input, limit, "b".into())
            .read_to_end(&mut out)
            .await
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[tokio::test]
    async fn short_lines_pass_unchanged() {
        let text = "{\"a\":1}\n\n{\"b\":2}\r\nend";
        assert_eq!(through(text.as_bytes(), 8).await, text);
    }

    #[tokio::test]
    async fn a_long_answer_is_cut_and_answered_with_an_error() {
        let long = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{{\"t\":\"{}\"}}}}\nnext\n",
            "y".repeat(1000)
        );
        let out = through(long.as_bytes(), 100).await;
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert_eq!(lines[0].len(), 101, "the stump: the limit plus one byte");
        let error: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(error["id"], 4);
        assert!(error["error"]["message"].as_str().unwrap().contains("100 bytes"));
        assert_eq!(lines[2], "next");
    }

    #[tokio::test]
    async fn a_long_notification_is_dropped() {
        let long = format!(
            "{{\"method\":\"notifications/message\",\"params\":\"{}\"}}\nnext\n",
            "y".repeat(1000)
        );
        let out = through(long.as_bytes(), 100).await;
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert_eq!(lines[1], "next");
    }
}
