//! `ValidationError`: one violation of the schema, with the JSON pointer of
//! the offending value and which part of the YAML (`Target`) to point at.

use std::fmt;

/// Which part of the YAML an error is about, for its line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The value at the pointer.
    Value,
    /// The key of the entry at the pointer (an unknown or misnamed key).
    Key,
    /// The object containing the pointer (a missing key).
    Parent,
}

/// One violation of the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// JSON pointer (RFC 6901) of the offending value.
    pub pointer: String,
    pub message: String,
    /// How to fix it, where the schema or the context knows.
    pub hint: Option<String>,
    /// The schema keyword that failed (`x-` ones are mcpmux extensions).
    pub keyword: &'static str,
    pub target: Target,
}

impl ValidationError {
    /// Serde disagreed with a value the validator accepted: a generator bug.
    pub fn internal(e: serde_json::Error) -> ValidationError {
        ValidationError {
            pointer: String::new(),
            message: format!(
                "internal error: the validated configuration did not deserialize ({e}); please report this"
            ),
            hint: None,
            keyword: "internal",
            target: Target::Value,
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "(root)"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}
