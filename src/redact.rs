//! Keeps secrets out of logs and error messages: URLs are shown without
//! their user info, query and fragment (where API keys like to hide), and
//! command lines are shown as their program only.

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
