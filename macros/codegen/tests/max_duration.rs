//! The `x-max-duration` annotation: the generator takes it only on an
//! `x-type: duration` string, only as duration text its pattern accepts, and
//! refuses defaults beyond it or too large to hold, so the generated code can
//! unwrap its defaults; a misspelt annotation stays an unsupported keyword.

use quote::quote;

/// A schema with one `timeout` property whose definition is `duration`.
fn schema(duration: &str, default: &str) -> String {
    format!(
        r##"{{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": {{ "timeout": {{ "$ref": "#/$defs/duration", "default": {default} }} }},
  "$defs": {{ "duration": {duration} }}
}}"##
    )
}

const PATTERN: &str = r#""^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$|^0$""#;

fn generate(duration: &str, default: &str) -> Result<String, String> {
    let options = mcpmux_codegen::Options {
        support: quote!(crate::support),
        schema_path: None,
    };
    mcpmux_codegen::generate(&schema(duration, default), &options)
        .map(|t| t.to_string())
        .map_err(|e| e.to_string())
}

fn duration_def(extra: &str) -> String {
    format!(r#"{{ "type": "string", "x-type": "duration", "pattern": {PATTERN}{extra} }}"#)
}

#[test]
fn the_bound_is_emitted_with_its_text() {
    let code = generate(&duration_def(r#", "x-max-duration": "1h30m""#), r#""5m""#).unwrap();
    assert!(code.contains("Duration :: new (5400u64 , 0u32)"), "{code}");
    assert!(code.contains(r#""1h30m""#), "{code}");
}

#[test]
fn a_duration_without_a_bound_is_still_read() {
    let code = generate(&duration_def(""), r#""5m""#).unwrap();
    assert!(
        code.contains("e . duration (s , p , :: std :: option :: Option :: None)"),
        "{code}"
    );
}

#[test]
fn the_bound_needs_a_duration_string() {
    let err = generate(r#"{ "type": "string", "x-max-duration": "1h" }"#, r#""5m""#).unwrap_err();
    assert!(err.contains("x-max-duration needs x-type: duration"), "{err}");
}

#[test]
fn the_bound_must_be_duration_text() {
    for (bad, why) in [
        (r#""7d""#, "is not a duration"),
        (r#""99999999999999999999999h""#, "is not a duration"),
        ("168", "must be a string"),
    ] {
        let err = generate(&duration_def(&format!(r#", "x-max-duration": {bad}"#)), r#""5m""#).unwrap_err();
        assert!(
            err.contains(why) && err.contains("/$defs/duration/x-max-duration"),
            "{bad}: {err}"
        );
    }
    // Text the parser reads but the schema's own pattern refuses.
    let def = r#"{ "type": "string", "x-type": "duration", "pattern": "^[0-9]+s$", "x-max-duration": "1h" }"#;
    let err = generate(def, r#""5s""#).unwrap_err();
    assert!(err.contains("does not match the schema's own pattern"), "{err}");
}

#[test]
fn defaults_stay_within_the_bound_and_fit() {
    let err = generate(&duration_def(r#", "x-max-duration": "1h""#), r#""1h0m1s""#).unwrap_err();
    assert!(err.contains("longer than x-max-duration 1h"), "{err}");
    let err = generate(&duration_def(""), r#""99999999999999999999999h""#).unwrap_err();
    assert!(err.contains("not a duration that fits"), "{err}");
    assert!(generate(&duration_def(r#", "x-max-duration": "1h""#), r#""1h""#).is_ok());
}

#[test]
fn a_misspelt_annotation_is_unsupported() {
    let err = generate(&duration_def(r#", "x-max-durations": "1h""#), r#""5m""#).unwrap_err();
    assert!(
        err.contains("unsupported JSON Schema keyword `x-max-durations`"),
        "{err}"
    );
    assert!(mcpmux_codegen::SUPPORTED.contains(&"x-max-duration"));
}
