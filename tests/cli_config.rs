//! The configuration commands as a user runs them: the real `mcpmux` binary,
//! its exit codes (0 valid, 1 invalid, 2 unreadable), its text and JSON
//! reports, `schema`, `completions`, `--help` and `--version`.

use std::path::Path;
use std::process::{Command, Output};

fn mcpmux(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcpmux"));
    cmd.args(args)
        .env_remove("MCPMUX_CONFIG")
        .env("XDG_CONFIG_HOME", "/nonexistent-xdg");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap()
}

/// `mcpmux validate` without --config, run in `dir` with `XDG_CONFIG_HOME=dir`.
fn validate_in(dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mcpmux"))
        .arg("validate")
        .env_remove("MCPMUX_CONFIG")
        .env("XDG_CONFIG_HOME", dir)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn validate_accepts_a_valid_file_and_lists_its_backends() {
    let o = mcpmux(&["validate", "-c", "tests/corpus/valid/minimal.yaml"], &[]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        "tests/corpus/valid/minimal.yaml: valid (1 backends: everything)\n"
    );
}

#[test]
fn validate_reports_every_error_and_exits_1() {
    let o = mcpmux(&["validate", "--config", "tests/corpus/invalid/typos.yaml"], &[]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(
        lines[0],
        "tests/corpus/invalid/typos.yaml:5:3: /listen/adress: unknown key \"adress\" (hint: did you mean address?)"
    );
    assert!(lines[3].ends_with("3 error(s)"));
}

#[test]
fn validate_json_report() {
    let o = mcpmux(
        &["validate", "-c", "tests/corpus/invalid/env.yaml", "--format", "json"],
        &[("TEST_TOKEN", "t")],
    );
    assert_eq!(o.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["valid"], false);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 4);
    assert_eq!(errors[0]["pointer"], "/backends/0/env/API_TOKEN");
    assert_eq!(errors[0]["line"], 10);
    assert_eq!(errors[0]["column"], 18);
    assert_eq!(errors[0]["keyword"], "x-env");
    assert!(errors[0]["hint"].as_str().unwrap().contains("export TEST_NOT_SET"));
}

#[test]
fn validate_unreadable_or_missing_file_exits_2() {
    let o = mcpmux(&["validate", "-c", "/nonexistent/mcpmux.yaml"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).starts_with("error: cannot read /nonexistent/mcpmux.yaml"));
    // No --config and nothing in the search path.
    let dir = std::env::temp_dir().join(format!("mcpmux-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let o = validate_in(&dir);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stdout(&o).contains("no configuration file found (looked in mcpmux.yaml"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn validate_finds_the_config_in_xdg_config_home() {
    let dir = std::env::temp_dir().join(format!("mcpmux-xdg-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("mcpmux")).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/valid/minimal.yaml"),
        dir.join("mcpmux/config.yaml"),
    )
    .unwrap();
    let o = validate_in(&dir);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("mcpmux/config.yaml: valid"));
}

#[test]
fn schema_prints_the_schema_file() {
    let o = mcpmux(&["schema"], &[]);
    assert_eq!(o.status.code(), Some(0));
    let file =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/mcpmux.schema.json")).unwrap();
    assert_eq!(stdout(&o), file);
}

#[test]
fn completions_help_and_version() {
    for shell in ["bash", "zsh", "fish"] {
        let o = mcpmux(&["completions", shell], &[]);
        assert_eq!(o.status.code(), Some(0));
        assert!(stdout(&o).contains("validate"), "{shell} completion lacks subcommands");
    }
    let o = mcpmux(&["--version"], &[]);
    assert_eq!(stdout(&o), format!("mcpmux {}\n", env!("CARGO_PKG_VERSION")));
    let o = mcpmux(&["--help"], &[]);
    for word in ["validate", "schema", "completions", "--config"] {
        assert!(stdout(&o).contains(word), "--help lacks {word}");
    }
}
