//! JSON pointers (RFC 6901): the one escape of a pointer segment in mcpmux,
//! and `Path`, where the generated validator is in the document.

/// Escapes one JSON pointer segment (RFC 6901): `~` as `~0`, then `/` as `~1`.
pub fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

#[derive(Debug, Clone)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Where the validator is in the document.
#[derive(Debug, Clone, Default)]
pub struct Path(Vec<Segment>);

impl Path {
    pub fn key(&mut self, k: &str) {
        self.0.push(Segment::Key(k.to_string()));
    }

    pub fn index(&mut self, i: usize) {
        self.0.push(Segment::Index(i));
    }

    pub fn pop(&mut self) {
        self.0.pop();
    }

    /// The JSON pointer of this place.
    pub fn pointer(&self) -> String {
        let mut out = String::new();
        for s in &self.0 {
            out.push('/');
            match s {
                Segment::Key(k) => out.push_str(&escape(k)),
                Segment::Index(i) => out.push_str(&i.to_string()),
            }
        }
        out
    }

    /// The JSON pointer of the key `k` here.
    pub fn child(&self, k: &str) -> String {
        format!("{}/{}", self.pointer(), escape(k))
    }
}

#[cfg(test)]
mod tests {
    use super::{Path, escape};

    #[test]
    fn segments_are_escaped_tilde_first() {
        assert_eq!(escape("a/b~c"), "a~1b~0c");
        assert_eq!(escape("~1"), "~01");
        assert_eq!(escape("plain"), "plain");
    }

    #[test]
    fn paths_are_pointers() {
        let mut p = Path::default();
        assert_eq!(p.pointer(), "");
        p.key("backends");
        p.index(2);
        p.key("env/x");
        assert_eq!(p.pointer(), "/backends/2/env~1x");
        p.pop();
        assert_eq!(p.child("a~b"), "/backends/2/a~0b");
    }
}
