//! Fuzz target: any bytes, read as text, through every text stage of the
//! configuration loader (parse with `${VAR}` expansion and validation, the
//! `--no-env` check, the literal-secret scan, redaction); none may panic.
//! The loader is `src/config` itself, included as build.rs includes it.

#![no_main]

#[allow(dead_code, unused_imports)]
#[path = "../../src/config/mod.rs"]
mod config;

fn env(name: &str) -> Option<String> {
    match name {
        "TOKEN" => Some("tok-s3cr$t".into()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = config::parse(&text, "fuzz.yaml", &env);
    let _ = config::check_no_env(&text, "fuzz.yaml");
    let _ = config::literal_secrets(&text, "fuzz.yaml");
    let _ = config::written_redacted(&text, "fuzz.yaml");
});
