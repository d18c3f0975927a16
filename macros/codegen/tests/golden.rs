//! Golden test of the generator: the code generated from the project's schema
//! is formatted and compared with `tests/golden/mcpmux_config.rs`, so every
//! change to the generated code is reviewed as a diff (and
//! `golden_compiles.rs` compiles it). `UPDATE_GOLDEN=1` rewrites the file.

use std::path::PathBuf;

use quote::quote;

#[test]
fn generated_config_matches_golden_file() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let schema = std::fs::read_to_string(root.join("../../schema/mcpmux.schema.json")).unwrap();
    let options = mcpmux_codegen::Options {
        support: quote!(crate::config::support),
        // Relative to the golden file, where `include_str!` resolves it when
        // tests/golden_compiles.rs compiles that file.
        schema_path: Some("../../../../schema/mcpmux.schema.json".into()),
    };
    let tokens = mcpmux_codegen::generate(&schema, &options).unwrap();
    let generated = mcpmux_codegen::format(&tokens).unwrap();
    let golden = root.join("tests/golden/mcpmux_config.rs");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &generated).unwrap();
    }
    let expected = std::fs::read_to_string(&golden).unwrap_or_default();
    assert!(
        expected == generated,
        "generated code differs from {}; review the change and run with UPDATE_GOLDEN=1 to accept it",
        golden.display()
    );
}
