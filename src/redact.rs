//! Keeps secrets out of logs and error messages: URLs are shown without
//! their user info, query and fragment (where API keys like to hide) —
//! including in the log lines of the libraries mcpmux uses, through the
//! [`Stderr`] log writer.

use std::sync::LazyLock;

use regex_lite::Regex;

static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b(https?)://([^\s/?#"'<>()]+)([^\s?#"'<>()]*)(\?[^\s#"'<>()]*)?(#[^\s"'<>()]*)?"#).unwrap()
});

/// `text` with every http(s) URL reduced to scheme, host and path.
pub fn urls(text: &str) -> String {
    URL.replace_all(text, |c: &regex_lite::Captures<'_>| {
        let host = &c[2];
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        format!("{}://{host}{}", &c[1], &c[3])
    })
    .into_owned()
}

/// The log's destination: stderr, each line with its URLs redacted first.
pub struct Stderr;

/// One log line being written.
pub struct Line(Vec<u8>);

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Stderr {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line(Vec::with_capacity(256))
    }
}

impl std::io::Write for Line {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        let redacted = if text.contains("://") {
            urls(&text)
        } else {
            text.into_owned()
        };
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), redacted.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials_query_and_fragment() {
        assert_eq!(
            urls("error sending request for url (https://user:pw@api.example.com/mcp?key=SECRET#frag): refused"),
            "error sending request for url (https://api.example.com/mcp): refused"
        );
        assert_eq!(urls("http://127.0.0.1:8080/mcp"), "http://127.0.0.1:8080/mcp");
        assert_eq!(urls("no url here"), "no url here");
    }
}
