//! Bakes a fixed backend set into the binary: with `MCPMUX_BAKED_CONFIG`
//! naming a configuration file (absolute, or relative to the workspace root
//! where cargo runs this script), the file is checked with the very loader
//! and validator the binary uses (included below from `src/config`) — every
//! rule except on values built from `${VAR}`, which stay references resolved
//! when the binary runs — and a literal secret fails the build, since a
//! baked binary is readable by anyone who can read the file. It writes
//! `$OUT_DIR/baked.rs`: the configuration's text as written, its file name
//! (no directory, so no path leaks into the binary) and a `match` from each
//! backend's prefix to its position. Without the variable, it writes the
//! unbaked stand-ins. Cargo reruns it when the variable or the file changes.

#[allow(dead_code, unused_imports)]
#[path = "src/config/mod.rs"]
mod config;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo::rerun-if-env-changed=MCPMUX_BAKED_CONFIG");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("baked.rs");
    let chosen = std::env::var_os("MCPMUX_BAKED_CONFIG").filter(|v| !v.is_empty());
    let code = match chosen {
        None => unbaked(),
        Some(path) => {
            let path = Path::new(&path);
            let path = if path.is_absolute() {
                path.to_path_buf()
            } else {
                PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it")).join(path)
            };
            println!("cargo::rerun-if-changed={}", path.display());
            match bake(&path) {
                Ok(code) => code,
                Err(message) => {
                    eprintln!("{message}");
                    for line in message.lines() {
                        println!("cargo::error={line}");
                    }
                    std::process::exit(1);
                }
            }
        }
    };
    if std::fs::read_to_string(&out).ok().as_deref() != Some(code.as_str()) {
        std::fs::write(&out, code).expect("OUT_DIR is writable");
    }
}

fn unbaked() -> String {
    "/// No configuration was baked into this binary (MCPMUX_BAKED_CONFIG was unset at build time).\n\
     pub const BAKED: Option<Baked> = None;\n\n\
     /// Unbaked: no generated prefix router.\n\
     pub fn prefix_position(_prefix: &str) -> Option<usize> {\n    None\n}\n"
        .to_string()
}

/// The generated code for the configuration at `path`, or every reason it cannot be baked.
fn bake(path: &Path) -> Result<String, String> {
    let shown = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("MCPMUX_BAKED_CONFIG={shown}: cannot read it: {e}"))?;
    let report = |diagnostics: Vec<config::Diagnostic>| {
        let mut out = format!("MCPMUX_BAKED_CONFIG={shown} cannot be baked:\n");
        for d in diagnostics {
            let _ = writeln!(out, "{d}");
        }
        out
    };
    let checked = config::check_no_env(&text, &shown);
    let literal = config::literal_secrets(&text, &shown).unwrap_or_default();
    let written = match checked {
        Ok(written) if literal.is_empty() => written,
        Ok(_) => return Err(report(literal)),
        Err(mut diagnostics) => {
            diagnostics.extend(literal);
            return Err(report(diagnostics));
        }
    };
    let name = path
        .file_name()
        .map_or_else(|| "config.yaml".to_string(), |n| n.to_string_lossy().into_owned());
    let mut arms = String::new();
    for (i, b) in written["backends"].as_array().into_iter().flatten().enumerate() {
        let prefix = b
            .get("prefix")
            .and_then(|p| p.as_str())
            .or_else(|| b.get("name").and_then(|n| n.as_str()))
            .unwrap_or("");
        if !prefix.is_empty() {
            let _ = writeln!(arms, "        {prefix:?} => Some({i}),");
        }
    }
    Ok(format!(
        "/// The configuration baked into this binary at build time (MCPMUX_BAKED_CONFIG), as written:\n\
         /// `${{VAR}}` references are resolved from the environment when mcpmux starts.\n\
         pub const BAKED: Option<Baked> = Some(Baked {{\n    file: {name:?},\n    text: {text:?},\n}});\n\n\
         /// The position of the backend whose prefix is `prefix` (generated from the baked configuration).\n\
         pub fn prefix_position(prefix: &str) -> Option<usize> {{\n    match prefix {{\n{arms}        _ => None,\n    }}\n}}\n"
    ))
}
