//! A backend's filters (`tools`, `prompts`, `resources` in its config):
//! glob patterns on the backend's own names or URIs, compiled once, that say
//! whether an item is offered and, if not, which rule hid it — the words an
//! error and `mcpmux list` use.

use std::sync::Arc;

use crate::config;

/// The three filters of one backend.
#[derive(Debug, Default)]
pub struct Filters {
    pub tools: Filter,
    pub prompts: Filter,
    /// Resources and resource templates, by URI (template).
    pub resources: Filter,
}

impl Filters {
    pub fn new(entry: &config::Backend) -> Filters {
        Filters {
            tools: Filter::new("tools", entry.tools()),
            prompts: Filter::new("prompts", entry.prompts()),
            resources: Filter::new("resources", entry.resources()),
        }
    }
}

/// One compiled filter.
#[derive(Debug, Default)]
pub struct Filter {
    /// The config key it came from (`tools`, `prompts`, `resources`).
    key: &'static str,
    allow: Option<Vec<Glob>>,
    deny: Vec<Glob>,
}

#[derive(Debug)]
struct Glob {
    text: Arc<str>,
    re: regex_lite::Regex,
}

impl Glob {
    fn new(text: &str) -> Glob {
        let mut re = String::with_capacity(text.len() + 8);
        re.push_str("^(?s:");
        for c in text.chars() {
            match c {
                '*' => re.push_str(".*"),
                '?' => re.push('.'),
                c => re.push_str(&regex_lite::escape(c.encode_utf8(&mut [0; 4]))),
            }
        }
        re.push_str(")$");
        Glob {
            text: text.into(),
            // Every character is escaped but * and ?, so the pattern is valid.
            re: regex_lite::Regex::new(&re).expect("an escaped glob is a valid regex"),
        }
    }

    fn matches(&self, s: &str) -> bool {
        self.re.is_match(s)
    }
}

impl Filter {
    pub fn new(key: &'static str, f: &config::Filter) -> Filter {
        Filter {
            key,
            allow: f.allow.as_ref().map(|a| a.iter().map(|p| Glob::new(p)).collect()),
            deny: f.deny.iter().map(|p| Glob::new(p)).collect(),
        }
    }

    /// None if `name` is offered; else the rule that hides it.
    pub fn hides(&self, name: &str) -> Option<String> {
        if let Some(d) = self.deny.iter().find(|g| g.matches(name)) {
            return Some(format!("{}.deny pattern {:?}", self.key, &*d.text));
        }
        match &self.allow {
            Some(allow) if !allow.iter().any(|g| g.matches(name)) => {
                Some(format!("no {}.allow pattern matches it", self.key))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(allow: Option<&[&str]>, deny: &[&str]) -> Filter {
        Filter::new(
            "tools",
            &config::Filter {
                allow: allow.map(|a| a.iter().map(|s| s.to_string()).collect()),
                deny: deny.iter().map(|s| s.to_string()).collect(),
            },
        )
    }

    #[test]
    fn globs_match_whole_names() {
        let f = filter(Some(&["get_*", "list?", "a.b"]), &[]);
        assert_eq!(f.hides("get_issue"), None);
        assert_eq!(f.hides("get_"), None);
        assert_eq!(f.hides("lists"), None);
        assert!(f.hides("list").is_some(), "? is exactly one character");
        assert!(f.hides("forget_issue").is_some(), "anchored at the start");
        assert!(f.hides("axb").is_some(), ". is itself, not any character");
        assert_eq!(f.hides("a.b"), None);
    }

    #[test]
    fn deny_wins_and_names_its_pattern() {
        let f = filter(Some(&["*"]), &["delete_*"]);
        assert_eq!(
            f.hides("delete_repo").as_deref(),
            Some(r#"tools.deny pattern "delete_*""#)
        );
        assert_eq!(f.hides("create_repo"), None);
        let f = filter(Some(&["get_*"]), &[]);
        assert_eq!(f.hides("put").as_deref(), Some("no tools.allow pattern matches it"));
        let f = filter(None, &[]);
        assert_eq!(f.hides("anything"), None);
    }

    #[test]
    fn uris_and_regex_characters_are_literal() {
        let f = filter(Some(&["file:///docs/*"]), &["*.(secret)"]);
        assert_eq!(f.hides("file:///docs/a/b.md"), None);
        assert!(f.hides("file:///docs/x.(secret)").is_some());
        assert!(f.hides("file:///etc/passwd").is_some());
    }
}
