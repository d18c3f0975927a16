//! Finds where a JSON pointer stands in YAML source text (line and column of
//! the value and of its key), so configuration errors can name their place.
//! yaml_serde exposes no node positions, so this reads the saphyr event
//! stream; it runs only when there are errors to report.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, Span};

use super::support::Target;
use super::support::pointer::escape;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    value: Position,
    /// Where the key is, for entries of a mapping.
    key: Option<Position>,
}

/// Pointer -> position index of one YAML document.
#[derive(Debug, Default)]
pub struct Locator {
    entries: HashMap<String, Entry>,
}

enum Frame {
    Mapping {
        pointer: String,
        key: Option<(String, Position)>,
    },
    Sequence {
        pointer: String,
        next: usize,
    },
    /// A complex (non-scalar) mapping key being skipped, with its nesting depth.
    Skip {
        depth: usize,
    },
}

fn position(span: &Span) -> Position {
    Position {
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

impl Locator {
    /// Indexes `text`; a document the parser rejects yields a partial index.
    pub fn new(text: &str) -> Locator {
        let mut locator = Locator::default();
        let mut stack: Vec<Frame> = Vec::new();
        let mut seen_root = false;
        for item in Parser::new_from_str(text) {
            let Ok((event, span)) = item else { break };
            let at = position(&span);
            let starts = matches!(event, Event::MappingStart(..) | Event::SequenceStart(..));
            let ends = matches!(event, Event::MappingEnd | Event::SequenceEnd);
            let is_node = starts || matches!(event, Event::Scalar(..) | Event::Alias(..));
            if let Some(Frame::Skip { depth }) = stack.last_mut() {
                if starts {
                    *depth += 1;
                } else if ends {
                    *depth -= 1;
                }
                if *depth == 0 {
                    stack.pop();
                }
                continue;
            }
            if ends {
                stack.pop();
                continue;
            }
            if !is_node {
                continue;
            }
            // Which pointer does this node have, and is it a mapping key?
            let pointer = match stack.last_mut() {
                None if !seen_root => {
                    seen_root = true;
                    locator.entries.insert(String::new(), Entry { value: at, key: None });
                    String::new()
                }
                None => break, // only the first document counts
                Some(Frame::Mapping { pointer, key }) => match key.take() {
                    None => {
                        if let Event::Scalar(k, ..) = &event {
                            *key = Some((k.to_string(), at));
                        } else if starts {
                            stack.push(Frame::Skip { depth: 1 });
                        }
                        continue;
                    }
                    Some((k, key_at)) => {
                        let child = format!("{pointer}/{}", escape(&k));
                        locator.entries.insert(
                            child.clone(),
                            Entry {
                                value: at,
                                key: Some(key_at),
                            },
                        );
                        child
                    }
                },
                Some(Frame::Sequence { pointer, next }) => {
                    let child = format!("{pointer}/{next}");
                    *next += 1;
                    locator.entries.insert(child.clone(), Entry { value: at, key: None });
                    child
                }
                Some(Frame::Skip { .. }) => unreachable!("handled above"),
            };
            match event {
                Event::MappingStart(..) => stack.push(Frame::Mapping { pointer, key: None }),
                Event::SequenceStart(..) => stack.push(Frame::Sequence { pointer, next: 0 }),
                _ => {}
            }
        }
        locator
    }

    /// Where the error at `pointer` should be shown: the value, its key, or
    /// (for a missing key) the mapping that lacks it. Pointers below an alias
    /// or beyond the document fall back to their nearest known ancestor.
    pub fn locate(&self, pointer: &str, target: Target) -> Position {
        let mut p = pointer;
        if target == Target::Parent {
            p = parent(p);
        }
        loop {
            if let Some(e) = self.entries.get(p) {
                return match target {
                    Target::Key if p == pointer => e.key.unwrap_or(e.value),
                    Target::Parent => e.key.unwrap_or(e.value),
                    _ => e.value,
                };
            }
            if p.is_empty() {
                return Position { line: 1, column: 1 };
            }
            p = parent(p);
        }
    }
}

fn parent(pointer: &str) -> &str {
    pointer.rfind('/').map_or("", |i| &pointer[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "listen:\n  transport: htp\nbackends:\n  - name: a\n    command: [x, y]\n  - name: b\n    auth:\n      type: bearer\n";

    #[test]
    fn finds_values_keys_and_parents() {
        let l = Locator::new(DOC);
        assert_eq!(
            l.locate("/listen/transport", Target::Value),
            Position { line: 2, column: 14 }
        );
        assert_eq!(
            l.locate("/listen/transport", Target::Key),
            Position { line: 2, column: 3 }
        );
        assert_eq!(
            l.locate("/backends/0/command/1", Target::Value),
            Position { line: 5, column: 18 }
        );
        assert_eq!(
            l.locate("/backends/1/name", Target::Value),
            Position { line: 6, column: 11 }
        );
        // A missing key is shown at the key of the mapping that lacks it.
        assert_eq!(
            l.locate("/backends/1/auth/token", Target::Parent),
            Position { line: 7, column: 5 }
        );
        // Unknown pointers fall back to the nearest ancestor.
        assert_eq!(
            l.locate("/backends/1/auth/type/x", Target::Value),
            Position { line: 8, column: 13 }
        );
    }
}
