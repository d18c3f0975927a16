//! Resource URIs as clients see them. A backend's URI (or URI template) is
//! shown as `mcpmux://<prefix>/<original>`: a fixed scheme and an authority
//! naming the backend, in front of the original, unchanged — so it decodes
//! back exactly, and an RFC 6570 template stays a valid template (nothing
//! inside `{…}` is touched). Backends with an empty prefix keep their URIs.
//! The same rewrite applies to resource links and embedded resources inside
//! tool results and prompt messages. Clients store URIs: this form is part
//! of mcpmux's interface (the README documents it) and must not change.

use rmcp::model::{ContentBlock, ResourceContents};

/// The scheme of rewritten URIs.
pub const SCHEME: &str = "mcpmux://";

/// The URI clients see for backend URI `uri` under `prefix`.
pub fn encode(prefix: &str, uri: &str) -> String {
    if prefix.is_empty() {
        return uri.to_string();
    }
    format!("{SCHEME}{prefix}/{uri}")
}

/// The prefix and original URI a rewritten URI stands for; `None` for a URI
/// mcpmux did not rewrite (an unprefixed backend's).
pub fn decode(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix(SCHEME)?;
    let (prefix, original) = rest.split_once('/')?;
    (!prefix.is_empty()).then_some((prefix, original))
}

/// Rewrites the URIs of resource links and embedded resources in `blocks`.
pub fn rewrite_blocks(prefix: &str, blocks: &mut [ContentBlock]) {
    if prefix.is_empty() {
        return;
    }
    for block in blocks {
        rewrite_block(prefix, block);
    }
}

/// Rewrites the URI of one resource link or embedded resource.
pub fn rewrite_block(prefix: &str, block: &mut ContentBlock) {
    if prefix.is_empty() {
        return;
    }
    match block {
        ContentBlock::ResourceLink(r) => r.uri = encode(prefix, &r.uri),
        ContentBlock::Resource(e) => rewrite_contents(prefix, &mut e.resource),
        _ => {}
    }
}

/// Rewrites the URI of resource contents (a read result, an embedded resource).
pub fn rewrite_contents(prefix: &str, contents: &mut ResourceContents) {
    if let ResourceContents::TextResourceContents { uri, .. } | ResourceContents::BlobResourceContents { uri, .. } =
        contents
    {
        *uri = encode(prefix, uri);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_exactly() {
        for original in [
            "file:///tmp/a b.txt",
            "test://static-text",
            "https://example.com/x?y=1#z",
            "mcpmux://other/file:///x",
            "",
        ] {
            let public = encode("files", original);
            assert_eq!(decode(&public), Some(("files", original)), "{public}");
        }
        assert_eq!(encode("", "file:///x"), "file:///x");
        assert_eq!(decode("file:///x"), None);
        assert_eq!(decode("mcpmux:///x"), None, "no prefix");
    }

    #[test]
    fn templates_stay_templates() {
        let t = encode("ref", "test://template/{id}/data{?q,lang}");
        assert_eq!(t, "mcpmux://ref/test://template/{id}/data{?q,lang}");
        // Expanding the public template gives the public form of the expanded original.
        let expanded = t.replace("{id}", "42").replace("{?q,lang}", "");
        assert_eq!(decode(&expanded), Some(("ref", "test://template/42/data")));
    }

    #[test]
    fn links_and_embedded_resources_are_rewritten() {
        let mut blocks = vec![
            ContentBlock::text("hi"),
            ContentBlock::Resource(rmcp::model::EmbeddedResource::new(ResourceContents::text(
                "x", "test://a",
            ))),
        ];
        rewrite_blocks("p", &mut blocks);
        let ContentBlock::Resource(e) = &blocks[1] else {
            panic!()
        };
        let ResourceContents::TextResourceContents { uri, .. } = &e.resource else {
            panic!()
        };
        assert_eq!(uri, "mcpmux://p/test://a");
    }
}
