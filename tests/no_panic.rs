//! No configuration the schema accepts may crash mcpmux: the real binary
//! validates a configuration with every duration at the schema's maximum
//! (`x-max-duration`) and every bounded integer at its `maximum`, then runs
//! `mcpmux list` on it — backends that fail at once, so it ends quickly —
//! and must exit with an error code, not a panic. Past the maximum,
//! `validate` names the limit instead (issue 6: `attempt_timeout:
//! 4000000000000000h` passed `validate` and then made `list` panic).

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

fn schema() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema/mcpmux.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The longest duration the schema allows, as it writes it.
fn max_duration(schema: &Value) -> String {
    schema["$defs"]["duration"]["x-max-duration"]
        .as_str()
        .expect("$defs/duration has an x-max-duration")
        .to_string()
}

/// Writes `text` to a file of its own under the test's scratch directory.
fn config_file(name: &str, text: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("no_panic-{name}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn mcpmux(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mcpmux"))
        .args(args)
        .env_remove("MCPMUX_CONFIG")
        .env("XDG_CONFIG_HOME", "/nonexistent-xdg")
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn every_duration_and_integer_at_its_maximum_validates_and_lists_without_a_panic() {
    let schema = schema();
    let d = max_duration(&schema);
    let page_size = &schema["$defs"]["listen"]["properties"]["page_size"]["maximum"];
    let port = &schema["$defs"]["authOauth"]["properties"]["callback_port"]["maximum"];
    assert!(page_size.is_u64() && port.is_u64(), "{page_size} {port}");
    // Backends that fail at once: a command that exits, HTTP endpoints that
    // refuse the connection (port 1 on loopback), one with a token helper.
    let config = format!(
        "listen: {{page_size: {page_size}}}\n\
         connect_retry: {{enabled: true, max_delay: {d}, attempt_timeout: {d}}}\n\
         backends:\n\
         - {{name: exits, transport: command, command: [sh, -c, 'exit 1'], timeout: {d}}}\n\
         - name: refused\n  transport: http\n  endpoint: http://127.0.0.1:1/mcp\n  timeout: {d}\n  \
           auth: {{type: command, command: [sh, -c, 'echo token'], ttl: {d}}}\n\
         - {{name: refused-too, transport: http, endpoint: 'http://127.0.0.1:1/mcp', timeout: {d}}}\n"
    );
    let path = config_file("at-maximum", &config);
    let path = path.to_str().unwrap();

    let o = mcpmux(&["validate", "-c", path]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{config}\nstdout: {out}\nstderr: {err}");

    let started = Instant::now();
    let o = mcpmux(&["list", "-c", path]);
    let (out, err) = text(&o);
    assert!(!err.contains("panicked"), "stdout: {out}\nstderr: {err}");
    assert_eq!(o.status.code(), Some(1), "stdout: {out}\nstderr: {err}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "list took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_duration_past_the_maximum_is_refused_with_the_limit_and_never_reaches_list() {
    let d = max_duration(&schema());
    let path = config_file(
        "past-maximum",
        "connect_retry: {attempt_timeout: 4000000000000000h}\n\
         backends:\n\
         - {name: exits, transport: command, command: [sh, -c, 'exit 1']}\n",
    );
    let path = path.to_str().unwrap();
    let expected = format!(
        "{path}:1:34: /connect_retry/attempt_timeout: \"4000000000000000h\" is longer than the maximum, {d} (hint: use {d} or less)"
    );

    let o = mcpmux(&["validate", "-c", path]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "stdout: {out}\nstderr: {err}");
    assert_eq!(out.lines().next(), Some(expected.as_str()), "stdout: {out}");

    let o = mcpmux(&["list", "-c", path]);
    let (out, err) = text(&o);
    assert!(!err.contains("panicked"), "stdout: {out}\nstderr: {err}");
    assert!(err.contains(&expected), "stderr: {err}");
    assert_ne!(o.status.code(), Some(0), "stdout: {out}\nstderr: {err}");
}
