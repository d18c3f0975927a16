//! What the configuration tests share: the independent judge of the schema
//! (the `jsonschema` crate, formats checked) that mcpmux's own validator is
//! compared with.

use mcpmux::config::Config;
use serde_json::Value;

/// The `jsonschema` crate's validator for mcpmux's schema.
pub fn independent_validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(Config::SCHEMA).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}
