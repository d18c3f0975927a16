//! Fuzz target: the `${VAR}` expander on any string, alone and inside a
//! document; it may refuse a string but never panic, an error points at the
//! string at fault, and a string without `$` comes back unchanged.

#![no_main]

#[allow(dead_code, unused_imports)]
#[path = "../../src/config/mod.rs"]
mod config;

use serde_json::{Value, json};

fn env(name: &str) -> Option<String> {
    match name {
        "TOKEN" => Some("tok-s3cr$t".into()),
        "EMPTY" => Some(String::new()),
        "BRACE" => Some("}{".into()),
        _ => None,
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data).into_owned();
    let mut alone = Value::String(s.clone());
    let errors = config::expand_env(&mut alone, &env);
    if !s.contains('$') {
        assert!(errors.is_empty() && alone == Value::String(s.clone()));
    }
    let mut doc = json!({"backends": [{"env": {"A": s.clone(), "B": [s.clone()]}}]});
    for e in config::expand_env(&mut doc, &env) {
        assert!(
            doc.pointer(&e.pointer)
                .and_then(Value::as_str)
                .is_some_and(|v| v.contains('$'))
        );
    }
});
