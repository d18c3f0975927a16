//! The golden file compiled against the runtime it calls: the generated code
//! is included where `crate::config::support` is `mcpmux-config-support`, as
//! in the app, so a generator change that breaks the contract between
//! generated code and runtime fails here, in the generator's own tests.

// The tests below use only part of the generated API; and an empty struct's
// `Default` is generated like every other's, not derived (the proc macro's
// output is exempt from that style lint, an included file is not).
#[allow(dead_code, clippy::derivable_impls)]
mod config {
    pub use mcpmux_config_support as support;

    include!("golden/mcpmux_config.rs");
}

use config::Config;
use serde_json::json;

#[test]
fn the_golden_code_validates_and_builds_a_configuration() {
    let value = json!({
        "backends": [
            { "name": "files", "transport": "command", "command": ["mcp-files"], "timeout": "90s" },
            { "name": "web", "transport": "http", "endpoint": "https://example.com/mcp" }
        ]
    });
    let config = Config::from_value(value).unwrap();
    assert_eq!(config.backends.len(), 2);
    assert_eq!(config.backends[0].name(), "files");
    assert_eq!(*config.backends[0].timeout(), std::time::Duration::from_secs(90));
    assert_eq!(Config::SCHEMA, include_str!("../../../schema/mcpmux.schema.json"));
}

#[test]
fn the_golden_validator_reports_located_errors() {
    let value = json!({ "backends": [{ "name": "files", "transport": "command", "command": ["x"], "a/b~c": 1 }] });
    let errors = Config::validate(&value);
    let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
    assert_eq!(pointers, ["/backends/0/a~1b~0c"], "{errors:?}");
}
