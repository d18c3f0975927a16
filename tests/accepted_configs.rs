//! Every configuration the schema accepts runs: a property test generates
//! configuration documents shaped by `schema/mcpmux.schema.json` (both
//! backend kinds, every auth type, listen options, durations and integers
//! near their bounds, names, `${VAR}` references, an unknown key now and
//! then), judges each with the independent `jsonschema` crate, and runs
//! mcpmux's loading, validating and resolving stages on it in-process: no
//! panic, and mcpmux's verdict is jsonschema's plus the rules JSON Schema
//! cannot state (see [`extra_rules`]). A bounded number of the accepted ones,
//! with every command rewritten to `true` and every URL to an unused port
//! on 127.0.0.1, also go through the real `mcpmux list --json`, which must
//! end without a panic. `PROPTEST_CASES` sets the number of documents
//! (default 400) and `MCPMUX_FUZZ_LIST_RUNS` the number of `list` runs
//! (default 8); `scripts/fuzz` raises both.

mod support;

use std::cell::Cell;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mcpmux::config::{self, Config, Diagnostic, Overrides};
use mcpmux::resolve::{Mode, Resolved};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestError, TestRunner};
use serde_json::{Map, Value, json};
use support::independent_validator;

/// The environment `${VAR}` sees in-process.
fn test_env(name: &str) -> Option<String> {
    Some(
        match name {
            "TOKEN" => "tok-0123456789abcdef-secret",
            "EMPTY" => "",
            "DUR_SET" => "90s",
            "ARG" => "--flag",
            "ORIGIN" => "https://app.example.com",
            _ => return None,
        }
        .to_string(),
    )
}

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn list_runs() -> usize {
    std::env::var("MCPMUX_FUZZ_LIST_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8)
}

fn scratch() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("accepted_configs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// ---------------------------------------------------------------- generators

/// `valid` most of the time, `invalid` now and then (so most documents stay
/// acceptable while every kind of mistake still turns up).
fn mostly<T: std::fmt::Debug + Clone + 'static>(
    valid: impl Strategy<Value = T> + 'static,
    invalid: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<T> {
    prop_oneof![24 => valid, 1 => invalid].boxed()
}

/// A `${VAR}` reference or a string with `$` in it, of every form the
/// expander knows: set, unset, with a default, empty, escaped, malformed.
fn reference() -> BoxedStrategy<String> {
    prop_oneof![
        Just("${TOKEN}".to_string()),
        Just("${MISSING:-fallback}".to_string()),
        Just("${EMPTY:-used}".to_string()),
        Just("${EMPTY}".to_string()),
        Just("pa$$word".to_string()),
        Just("a $ lone dollar 5$".to_string()),
        Just("x-${TOKEN}-y".to_string()),
        Just("${MISSING}".to_string()),
        Just("${1X}".to_string()),
        Just("${UNTERMINATED".to_string()),
        Just("${}".to_string()),
    ]
    .boxed()
}

/// Free text: printable ASCII (with `$`, `{`, `}`), any Unicode, or a reference.
fn text() -> BoxedStrategy<String> {
    prop_oneof![4 => "[ -~]{0,16}", 1 => "\\PC{0,8}", 2 => reference()].boxed()
}

fn secret() -> BoxedStrategy<Value> {
    mostly(
        prop_oneof![
            "[A-Za-z0-9._~+/-]{0,24}",
            Just("${TOKEN}".to_string()),
            Just("${MISSING:-fallback-token-value}".to_string()),
            reference()
        ]
        .prop_map(Value::from),
        prop_oneof![Just(json!(7)), Just(json!(["${TOKEN}"])), Just(json!(null))],
    )
}

const UNITS: &[&str] = &["ns", "us", "µs", "ms", "s", "m", "h"];

/// Duration text: short and long, composite, fractional (at most three
/// digits, so that its value is exact), at and past the 168h maximum,
/// far past any integer, malformed, or from the environment.
fn duration() -> BoxedStrategy<Value> {
    let unit = proptest::sample::select(UNITS);
    let segment = (0u64..2000, proptest::option::of(0u32..1000), unit).prop_map(|(n, f, u)| match f {
        Some(f) => format!("{n}.{f}{u}"),
        None => format!("{n}{u}"),
    });
    let valid = prop_oneof![
        4 => segment.clone(),
        2 => proptest::collection::vec(segment, 1..4).prop_map(|v| v.concat()),
        1 => Just("0".to_string()),
        2 => proptest::sample::select(vec![
            "168h", "167h59m59s", "167h59m59s999999999ns", "604800s", "10080m", "168h0ns", "0s", "1ns",
            "168h1ns", "169h", "604801s", "10081m", "7000000000000000000000h",
            "99999999999999999999999999999999999999999h", "18446744073709551616s", "1.5h", "0.001ms",
            "${DUR_SET}", "${MISSING:-2m}", "${EMPTY:-168h}",
        ])
        .prop_map(String::from),
    ];
    let invalid = proptest::sample::select(vec![
        "",
        "5",
        "5x",
        "h",
        "1.h",
        ".5s",
        "-1s",
        " 5s",
        "5 s",
        "1e3s",
        "5S",
        "${MISSING}",
        "1..5s",
    ])
    .prop_map(String::from);
    prop_oneof![
        20 => mostly(valid, invalid).prop_map(Value::from),
        1 => prop_oneof![Just(json!(5)), Just(json!(true)), Just(json!(null)), Just(json!(1.5))],
    ]
    .boxed()
}

/// An integer for a property bounded by `min..=max`: at and around both
/// bounds, anywhere between, far outside, as a float, or as a string.
fn integer(min: i64, max: i64) -> BoxedStrategy<Value> {
    let near = vec![min - 1, min, min + 1, max - 1, max, max + 1, 0, -1, i64::MIN, i64::MAX];
    prop_oneof![
        6 => (min..=max).prop_map(Value::from),
        4 => proptest::sample::select(near).prop_map(Value::from),
        1 => Just(json!(u64::MAX)),
        1 => proptest::sample::select(vec![min as f64, max as f64, min as f64 + 0.5, 1e300]).prop_map(Value::from),
        1 => Just(json!(max.to_string())),
    ]
    .boxed()
}

fn boolean() -> BoxedStrategy<Value> {
    mostly(
        any::<bool>().prop_map(Value::from),
        prop_oneof![Just(json!("yes")), Just(json!(1)), Just(json!(null))],
    )
}

/// Names from a small pool (so duplicates and prefix clashes occur) or the
/// schema's pattern, and now and then one the pattern refuses.
fn name() -> BoxedStrategy<String> {
    mostly(
        prop_oneof![
            2 => proptest::sample::select(vec!["a", "b", "svc", "files", "git-hub", "a_b", "0"]).prop_map(String::from),
            3 => "[a-z0-9-]{1,12}(_[a-z0-9-]{1,6}){0,2}",
            1 => Just("a".repeat(64)),
        ],
        proptest::sample::select(vec!["", "A", "a__b", "_a", "a_", "naïve", "a b", "${MISSING:-Bad}"])
            .prop_map(String::from)
            .boxed()
            .prop_union(Just("a".repeat(65)).boxed())
            .boxed(),
    )
}

fn prefix() -> BoxedStrategy<Value> {
    mostly(
        prop_oneof![
            Just(String::new()),
            proptest::sample::select(vec!["a", "b", "svc", "gh", "x.y-z"]).prop_map(String::from),
            "[A-Za-z0-9.-]{1,8}(_[A-Za-z0-9.-]{1,4})?",
            Just("p".repeat(48)),
        ]
        .prop_map(Value::from),
        prop_oneof![
            Just(json!("a__b")),
            Just(json!("_x")),
            Just(json!("p".repeat(49))),
            Just(json!(3))
        ],
    )
}

fn argv() -> BoxedStrategy<Value> {
    mostly(
        proptest::collection::vec(text(), 1..4).prop_map(|v| json!(v)),
        prop_oneof![
            Just(json!([])),
            Just(json!("true")),
            Just(json!([1])),
            Just(json!(null))
        ],
    )
}

/// An http(s) URL of any host and port (the `list` runs rewrite it to
/// 127.0.0.1), with a path, query or fragment, or from the environment.
fn endpoint() -> BoxedStrategy<Value> {
    let scheme = proptest::sample::select(vec!["http", "https", "HTTP", "hTTps"]);
    let host = proptest::sample::select(vec![
        "127.0.0.1",
        "localhost",
        "[::1]",
        "mcp.example.com",
        "user:pw@h.example",
        "xn--nxasmq6b.example",
    ]);
    let port = proptest::option::of(prop_oneof![Just(0u32), Just(1), Just(65535), Just(65536), 1u32..65536]);
    let path = proptest::sample::select(vec!["", "/", "/mcp", "/a/b?c=d#e", "/%41", "/ü"]);
    let built = (scheme, host, port, path).prop_map(|(s, h, p, path)| match p {
        Some(p) => format!("{s}://{h}:{p}{path}"),
        None => format!("{s}://{h}{path}"),
    });
    mostly(
        prop_oneof![
            8 => built,
            1 => Just("${MISSING:-http://127.0.0.1:1/mcp}".to_string()),
        ]
        .prop_map(Value::from),
        proptest::sample::select(vec![
            "ftp://h/mcp",
            "http://",
            "http:///mcp",
            "//h/mcp",
            "mcp.example.com",
            "http://h h/",
            "http://[::1/",
            "https://h:99999/",
            "${MISSING}",
        ])
        .prop_map(Value::from),
    )
}

/// A property map: each `(key, value)` is kept or left out by the generator;
/// an unknown key is added now and then.
fn object(entries: Vec<BoxedStrategy<Option<(String, Value)>>>) -> BoxedStrategy<Value> {
    let unknown = proptest::option::weighted(
        0.02,
        (
            proptest::sample::select(vec!["unknown_key", "Name", "trasport", "x-extra"]),
            text(),
        ),
    );
    (entries, unknown)
        .prop_map(|(entries, unknown)| {
            let mut map = Map::new();
            for (k, v) in entries.into_iter().flatten() {
                map.insert(k, v);
            }
            if let Some((k, v)) = unknown {
                map.insert(k.to_string(), Value::from(v));
            }
            Value::Object(map)
        })
        .boxed()
}

/// Always there (but left out now and then: a missing required property).
fn required(key: &'static str, value: BoxedStrategy<Value>) -> BoxedStrategy<Option<(String, Value)>> {
    proptest::option::weighted(0.99, value.prop_map(move |v| (key.to_string(), v))).boxed()
}

/// There with probability `p`.
fn optional(key: &'static str, p: f64, value: BoxedStrategy<Value>) -> BoxedStrategy<Option<(String, Value)>> {
    proptest::option::weighted(p, value.prop_map(move |v| (key.to_string(), v))).boxed()
}

fn constant(s: &'static str, others: &'static [&'static str]) -> BoxedStrategy<Value> {
    mostly(Just(json!(s)), proptest::sample::select(others).prop_map(Value::from))
}

fn backend_auth() -> BoxedStrategy<Value> {
    let none = object(vec![required("type", constant("none", &["None", "basic"]))]);
    let bearer = object(vec![
        required("type", constant("bearer", &["Bearer"])),
        required("token", secret()),
    ]);
    let header = object(vec![
        required("type", constant("header", &["headers"])),
        required(
            "header",
            mostly(
                prop_oneof![Just("X-Api-Key".to_string()), "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}"].prop_map(Value::from),
                proptest::sample::select(vec!["", "X Api", "X:Y", "é"]).prop_map(Value::from),
            ),
        ),
        required("value", secret()),
    ]);
    let command = object(vec![
        required("type", constant("command", &["cmd"])),
        required("command", argv()),
        optional("ttl", 0.5, duration()),
    ]);
    let oauth = object(vec![
        required("type", constant("oauth", &["oauth2"])),
        optional(
            "scopes",
            0.4,
            mostly(
                proptest::collection::vec("[a-z:.]{1,8}", 0..3).prop_map(|v| json!(v)),
                Just(json!([""])),
            ),
        ),
        optional(
            "client_name",
            0.3,
            mostly(text().prop_map(Value::from), Just(json!(""))),
        ),
        optional("open_browser", 0.5, boolean()),
        optional("callback_port", 0.4, integer(0, 65535)),
        optional(
            "client_id",
            0.3,
            mostly(
                prop_oneof!["[a-z0-9-]{1,12}".prop_map(Value::from), Just(json!("${TOKEN}"))],
                Just(json!("")),
            ),
        ),
        optional("client_secret", 0.3, secret()),
        optional(
            "grant",
            0.3,
            mostly(
                proptest::sample::select(vec!["authorization_code", "client_credentials"]).prop_map(Value::from),
                Just(json!("password")),
            ),
        ),
        optional(
            "client_metadata_url",
            0.2,
            mostly(
                proptest::sample::select(vec!["https://example.com/mcpmux/client.json", "https://h/c"])
                    .prop_map(Value::from),
                proptest::sample::select(vec![
                    "http://example.com/c.json",
                    "https://example.com/",
                    "https://h/c?x",
                ])
                .prop_map(Value::from),
            ),
        ),
        // Each with its plain counterpart now and then: the schema refuses both at once.
        optional("client_id_command", 0.15, argv()),
        optional("client_secret_command", 0.15, argv()),
        optional("allow_issuer_mismatch", 0.2, boolean()),
    ]);
    prop_oneof![
        2 => none,
        2 => bearer,
        2 => header,
        2 => command,
        3 => oauth,
        1 => prop_oneof![Just(json!({})), Just(json!("none")), Just(json!(null))],
    ]
    .boxed()
}

fn env_map() -> BoxedStrategy<Value> {
    let key = mostly(
        "[A-Za-z_][A-Za-z0-9_]{0,10}",
        proptest::sample::select(vec!["1X", "A-B", "", "A B"]).prop_map(String::from),
    );
    proptest::collection::vec((key, secret()), 0..4)
        .prop_map(|kv| Value::Object(kv.into_iter().collect()))
        .boxed()
}

/// A filter (a backend's `tools`, `prompts`, `resources`; a profile's
/// `tools`, `prompts`): glob lists, now and then an empty pattern.
fn filter() -> BoxedStrategy<Value> {
    let pattern = mostly(
        proptest::sample::select(vec!["*", "get_*", "a__?", "*__delete_*", "${MISSING:-x*}"]).prop_map(Value::from),
        prop_oneof![Just(json!("")), Just(json!(1))],
    );
    let list = mostly(
        proptest::collection::vec(pattern, 0..3).prop_map(Value::from),
        Just(json!("get_*")),
    );
    object(vec![optional("allow", 0.5, list.clone()), optional("deny", 0.5, list)])
}

/// Profile names from a small pool (`all` is reserved), now and then a bad one.
fn profile_name() -> BoxedStrategy<String> {
    mostly(
        proptest::sample::select(vec!["coding", "ro", "all", "p-1_x"]).prop_map(String::from),
        proptest::sample::select(vec!["Bad", "", "a b", "-x"]).prop_map(String::from),
    )
}

fn tool_mode() -> BoxedStrategy<Value> {
    mostly(
        proptest::sample::select(vec!["all", "search"]).prop_map(Value::from),
        Just(json!("fast")),
    )
}

/// The top-level `profiles`: views naming backends from the same pool as
/// the backends' names (so some name a backend that is not configured).
fn profiles() -> BoxedStrategy<Value> {
    let profile = object(vec![
        optional("description", 0.2, text().prop_map(Value::from).boxed()),
        optional(
            "backends",
            0.6,
            proptest::collection::vec(name().prop_map(Value::from), 0..3)
                .prop_map(Value::from)
                .boxed(),
        ),
        optional("tools", 0.4, filter()),
        optional("prompts", 0.2, filter()),
        optional("tool_mode", 0.3, tool_mode()),
    ]);
    proptest::collection::btree_map(profile_name(), profile, 0..3)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
        .boxed()
}

fn command_backend() -> BoxedStrategy<Value> {
    object(vec![
        required("name", name().prop_map(Value::from).boxed()),
        optional("description", 0.3, text().prop_map(Value::from).boxed()),
        optional("prefix", 0.3, prefix()),
        optional("tools", 0.2, filter()),
        optional("resources", 0.1, filter()),
        required("transport", constant("command", &["stdio", "Command"])),
        required("command", argv()),
        optional("env", 0.4, env_map()),
        optional(
            "env_passthrough",
            0.3,
            mostly(
                proptest::collection::vec(prop_oneof!["[A-Za-z_][A-Za-z0-9_]{0,8}", "[A-Z_]{1,6}\\*"], 0..3)
                    .prop_map(|v| json!(v)),
                Just(json!(["*"])),
            ),
        ),
        optional("timeout", 0.4, duration()),
    ])
}

fn http_backend() -> BoxedStrategy<Value> {
    object(vec![
        required("name", name().prop_map(Value::from).boxed()),
        optional("description", 0.3, text().prop_map(Value::from).boxed()),
        optional("prefix", 0.3, prefix()),
        required("transport", constant("http", &["https", "sse"])),
        required("endpoint", endpoint()),
        optional("auth", 0.7, backend_auth()),
        optional("timeout", 0.4, duration()),
    ])
}

fn client_auth() -> BoxedStrategy<Value> {
    let token = mostly(
        prop_oneof!["[A-Za-z0-9]{16,24}".prop_map(Value::from), Just(json!("${TOKEN}"))],
        prop_oneof![Just(json!("short")), Just(json!("${EMPTY:-0123456789abcdef}"))],
    );
    prop_oneof![
        3 => object(vec![required("type", constant("none", &["basic"]))]),
        3 => object(vec![
            required("type", constant("bearer", &["token"])),
            optional(
                "tokens",
                0.9,
                proptest::collection::vec(token.clone(), 0..3).prop_map(|v| json!(v)).boxed(),
            ),
            optional(
                "profiles",
                0.3,
                proptest::collection::btree_map(profile_name(), proptest::collection::vec(token, 0..2), 0..2)
                    .prop_map(|m| json!(m))
                    .boxed(),
            ),
        ]),
    ]
    .boxed()
}

fn listen() -> BoxedStrategy<Value> {
    object(vec![
        optional(
            "transport",
            0.5,
            mostly(
                proptest::sample::select(vec!["stdio", "http"]).prop_map(Value::from),
                Just(json!("tcp")),
            ),
        ),
        optional(
            "address",
            0.4,
            mostly(
                prop_oneof![
                    (0u32..=65535).prop_map(|p| format!("127.0.0.1:{p}")),
                    proptest::sample::select(vec![
                        "[::1]:8080",
                        ":0",
                        "localhost:65535",
                        "unix:/tmp/mcpmux-fuzz.sock",
                        "0.0.0.0:8080",
                    ])
                    .prop_map(String::from),
                ]
                .prop_map(Value::from),
                proptest::sample::select(vec!["unix:", "unix:relative", "h:65536", "h", "h: 80", "h:-1"])
                    .prop_map(Value::from),
            ),
        ),
        optional(
            "path",
            0.3,
            mostly(
                proptest::sample::select(vec!["/", "/mcp", "/a/b", "/${MISSING:-x}"]).prop_map(Value::from),
                Just(json!("mcp")),
            ),
        ),
        optional("page_size", 0.4, integer(1, 100_000)),
        optional("tool_mode", 0.2, tool_mode()),
        optional("max_body_bytes", 0.3, integer(1024, 1_073_741_824)),
        optional("header_timeout", 0.3, duration()),
        optional("auth", 0.3, client_auth()),
        optional(
            "allowed_origins",
            0.3,
            proptest::collection::vec(
                mostly(
                    proptest::sample::select(vec![
                        "null",
                        "https://app.example.com",
                        "http://localhost:*",
                        "${ORIGIN}",
                    ])
                    .prop_map(Value::from),
                    proptest::sample::select(vec!["ftp:/x", "https://a/b", "HTTP://x", ""]).prop_map(Value::from),
                ),
                0..3,
            )
            .prop_map(Value::from)
            .boxed(),
        ),
    ])
}

/// A whole configuration document.
fn document() -> BoxedStrategy<Value> {
    let backend = prop_oneof![
        10 => command_backend(),
        10 => http_backend(),
        1 => prop_oneof![Just(json!({"name": "x"})), Just(json!("x")), Just(json!(null))],
    ];
    object(vec![
        optional("listen", 0.5, listen()),
        optional("profiles", 0.3, profiles()),
        optional("eager_auth", 0.2, boolean()),
        optional(
            "connect_retry",
            0.5,
            object(vec![
                optional("enabled", 0.5, boolean()),
                optional("max_delay", 0.5, duration()),
                optional("attempt_timeout", 0.6, duration()),
            ]),
        ),
        optional("token_store", 0.2, object(vec![optional("enabled", 0.7, boolean())])),
        optional(
            "backends",
            0.95,
            mostly(
                proptest::collection::vec(backend, 0..5).prop_map(Value::from),
                prop_oneof![Just(json!({})), Just(json!(null))],
            ),
        ),
    ])
}

// ---------------------------------------------------------- the extra rules

/// The value of duration text in nanoseconds (`None`: past any u128), read
/// independently of mcpmux: each `NUMBER UNIT` segment adds its whole part
/// times the unit and its fraction, truncated to whole nanoseconds (the
/// generator writes at most three fraction digits, where this is exact).
fn nanos(text: &str) -> Option<u128> {
    if text == "0" {
        return Some(0);
    }
    let mut total: u128 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(n);
        let u = tail.find(|c: char| c.is_ascii_digit()).unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(u);
        let per: u128 = match unit {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => panic!("{text:?} passed the schema's duration pattern but has unit {unit:?}"),
        };
        let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
        let value = whole.parse::<u128>().ok()?.checked_mul(per)?;
        let frac_value = if frac.is_empty() {
            0
        } else {
            let digits: u128 = frac.parse().ok()?;
            digits.checked_mul(per)? / 10u128.checked_pow(frac.len() as u32)?
        };
        total = total.checked_add(value)?.checked_add(frac_value)?;
        rest = tail;
    }
    Some(total)
}

const MAX_DURATION_NANOS: u128 = 168 * 3_600_000_000_000;

/// The keywords of the rules mcpmux applies beyond JSON Schema that `doc`
/// (expanded, and accepted by jsonschema) breaks. The exact rules:
/// - `x-max-duration`: every duration (`listen.header_timeout`,
///   `connect_retry.max_delay`, `.attempt_timeout`, `backends[].timeout`,
///   `backends[].auth.ttl`) is at most 168h;
/// - `x-unique-by`: no two backends have the same `name`;
/// - `x-prefix`: no two backends share a non-empty prefix (their `prefix`,
///   else their `name`), except two equal names, which `x-unique-by` reports;
/// - `x-profile`: a profile is not called `all` and names only configured
///   backends; the profiles `listen.auth` binds tokens to are defined; and
///   bearer client authentication has at least one token;
/// - `format` (of `endpoint`): a URI by RFC 3986, as for jsonschema, that
///   the HTTP client's URL parser (WHATWG rules, the `url` crate) also
///   reads: it refuses, say, a port past 65535 or a host `1.2.3.4.5`.
fn extra_rules(doc: &Value) -> BTreeSet<&'static str> {
    let mut broken = BTreeSet::new();
    for b in doc["backends"].as_array().into_iter().flatten() {
        if b["endpoint"].as_str().is_some_and(|e| url::Url::parse(e).is_err()) {
            broken.insert("format");
        }
    }
    let mut durations: Vec<&Value> = vec![
        &doc["listen"]["header_timeout"],
        &doc["connect_retry"]["max_delay"],
        &doc["connect_retry"]["attempt_timeout"],
    ];
    let backends = doc["backends"].as_array().map(Vec::as_slice).unwrap_or_default();
    for b in backends {
        durations.push(&b["timeout"]);
        durations.push(&b["auth"]["ttl"]);
    }
    for d in durations.into_iter().filter_map(Value::as_str) {
        if nanos(d).is_none_or(|n| n > MAX_DURATION_NANOS) {
            broken.insert("x-max-duration");
        }
    }
    let mut names = BTreeSet::new();
    let mut prefixes: Vec<(&str, bool)> = Vec::new();
    for b in backends {
        let name = b["name"].as_str().unwrap_or_default();
        if !names.insert(name) {
            broken.insert("x-unique-by");
        }
        let (prefix, explicit) = match b["prefix"].as_str() {
            Some(p) => (p, true),
            None => (name, false),
        };
        if prefix.is_empty() {
            continue;
        }
        match prefixes.iter().find(|(p, _)| *p == prefix) {
            Some((_, false)) if !explicit => {}
            Some(_) => {
                broken.insert("x-prefix");
            }
            None => prefixes.push((prefix, explicit)),
        }
    }
    let profiles = doc["profiles"].as_object();
    for (name, p) in profiles.into_iter().flatten() {
        let unknown = p["backends"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|b| !names.contains(b.as_str().unwrap_or_default()));
        if name == "all" || unknown {
            broken.insert("x-profile");
        }
    }
    let auth = &doc["listen"]["auth"];
    if auth["type"] == "bearer" {
        let bound = auth["profiles"].as_object();
        if bound
            .into_iter()
            .flatten()
            .any(|(name, _)| !profiles.is_some_and(|p| p.contains_key(name)))
        {
            broken.insert("x-profile");
        }
        let tokens = auth["tokens"].as_array().is_some_and(|t| !t.is_empty());
        if !tokens && bound.is_none_or(|b| b.is_empty()) {
            broken.insert("x-profile");
        }
    }
    broken
}

// ------------------------------------------------------------ the checks

fn shown(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(|d| format!("  {d} [{}]", d.keyword))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether a case was accepted, and by whom.
#[derive(Default)]
struct Tally {
    cases: Cell<usize>,
    schema_accepted: Cell<usize>,
    mcpmux_accepted: Cell<usize>,
    /// Accepted by mcpmux with at least one backend: candidates for `list`.
    listable: Cell<usize>,
    listed: Cell<usize>,
}

/// Runs every in-process stage on `text` and checks the verdicts; returns
/// the loaded configuration and its expanded document when mcpmux accepts it.
fn check_in_process(
    text: &str,
    validator: &jsonschema::Validator,
    tally: &Tally,
) -> Result<Option<(Config, Value)>, TestCaseError> {
    tally.cases.set(tally.cases.get() + 1);
    let loaded = config::parse(text, "gen.yaml", &test_env);
    // The other stages on the same text: `validate --no-env`, the baked
    // build's secret check, `mcpmux config`'s redaction.
    let _ = config::check_no_env(text, "gen.yaml");
    let _ = config::literal_secrets(text, "gen.yaml");
    let _ = config::written_redacted(text, "gen.yaml");
    // The generator writes `${TOKEN}` only in secret fields and in free
    // text that no diagnostic quotes (descriptions, argv), never in a name,
    // URL or other value a diagnostic may show; so it never shows TOKEN.
    for d in loaded.as_ref().err().into_iter().flatten() {
        prop_assert!(d.line >= 1 && d.column >= 1, "diagnostic without a place: {d}");
        prop_assert!(
            !d.to_string().contains("tok-0123456789abcdef-secret"),
            "a secret is shown: {d}"
        );
    }

    // The document as mcpmux sees it before validation.
    let Ok(mut doc) = config::load::parse_yaml(text, "gen.yaml") else {
        prop_assert!(loaded.is_err(), "YAML that does not parse was loaded");
        return Ok(None);
    };
    let env_errors = config::expand_env(&mut doc, &test_env);
    if !env_errors.is_empty() {
        // An unset or malformed reference: refused, and said so.
        let diags = loaded.as_ref().err().cloned().unwrap_or_default();
        prop_assert!(
            diags.iter().any(|d| d.keyword == "x-env"),
            "a document with a bad ${{VAR}} was not refused for it:\n{text}\n{}",
            shown(&diags)
        );
        return Ok(None);
    }
    let schema_ok = validator.is_valid(&doc);
    tally
        .schema_accepted
        .set(tally.schema_accepted.get() + usize::from(schema_ok));
    if !schema_ok {
        let error = validator.iter_errors(&doc).next().map(|e| e.to_string());
        prop_assert!(
            loaded.is_err(),
            "mcpmux accepts what jsonschema refuses ({error:?}):\n{doc:#}"
        );
        return Ok(None);
    }
    let expected = extra_rules(&doc);
    let got: BTreeSet<&str> = loaded.as_ref().err().into_iter().flatten().map(|d| d.keyword).collect();
    prop_assert_eq!(
        &got,
        &expected,
        "jsonschema accepts; mcpmux's diagnostics should be exactly the extra rules broken:\n{:#}\n{}",
        doc,
        shown(loaded.as_ref().err().map(Vec::as_slice).unwrap_or_default())
    );
    let Ok(cfg) = loaded else { return Ok(None) };
    tally.mcpmux_accepted.set(tally.mcpmux_accepted.get() + 1);
    resolve_stages(&cfg);
    Ok(Some((cfg, doc)))
}

/// What the runtime makes of a loaded configuration, in both modes.
fn resolve_stages(cfg: &Config) {
    for mode in [Mode::Serve, Mode::List] {
        let r = Resolved::new(cfg, mode);
        let _ = r.list_wait();
        assert_eq!(r.backends.len(), cfg.backends.len());
        for b in &r.backends {
            let _ = b.target();
            let _ = b.owns("a__b");
        }
        if let mcpmux::resolve::Listen::Http(h) = &r.listen {
            let _ = h.address.to_string();
        }
    }
    let settings = mcpmux::auth::AuthSettings {
        store_dir: Some(scratch().join("in-process-store")),
        eager: cfg.eager_auth,
    };
    for b in &cfg.backends {
        if let config::Backend::Http(h) = b {
            let _ = mcpmux::auth::Source::for_backend(b.name(), h, &settings);
        }
    }
}

/// The same stages with command-line additions (`--http`, `--backend`).
fn check_overrides(text: &str, http: Option<String>, adhoc: Vec<String>) {
    let overrides = Overrides { backends: adhoc, http };
    if let Ok(cfg) = config::parse_with(text, "gen.yaml", &test_env, &overrides) {
        resolve_stages(&cfg);
    }
}

// -------------------------------------------------------- the `list` runs

/// A port on 127.0.0.1 that nothing listens on (bound, then let go).
fn unused_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// `$` as `$$`, so that a document already expanded stays as it is when
/// mcpmux reads it again.
fn escape_dollars(v: &mut Value) {
    match v {
        Value::String(s) => *s = s.replace('$', "$$"),
        Value::Array(a) => a.iter_mut().for_each(escape_dollars),
        Value::Object(o) => o.values_mut().for_each(escape_dollars),
        _ => {}
    }
}

/// The accepted document with nothing left that could leave this machine
/// or run anything but `true`: every command (backend, credential helper,
/// client id/secret helper) is `[true]`, every URL is on 127.0.0.1 at an
/// unused port, no browser is opened.
fn harmless(doc: &Value) -> Value {
    let mut doc = doc.clone();
    let harmless_argv = json!(["true"]);
    for b in doc["backends"].as_array_mut().into_iter().flatten() {
        if b.get("command").is_some() {
            b["command"] = harmless_argv.clone();
        }
        if b.get("endpoint").is_some() {
            b["endpoint"] = json!(format!("http://127.0.0.1:{}/mcp", unused_port()));
        }
        if let Some(auth) = b.get_mut("auth").and_then(Value::as_object_mut) {
            for key in ["command", "client_id_command", "client_secret_command"] {
                if auth.contains_key(key) {
                    auth.insert(key.into(), harmless_argv.clone());
                }
            }
            if auth.contains_key("client_metadata_url") {
                auth.insert(
                    "client_metadata_url".into(),
                    json!(format!("https://127.0.0.1:{}/client.json", unused_port())),
                );
            }
            if auth.get("type") == Some(&json!("oauth")) {
                auth.insert("open_browser".into(), json!(false));
            }
        }
    }
    escape_dollars(&mut doc);
    doc
}

/// Every string that could name a program or a host, for the safety check.
fn assert_only_harmless(cfg: &Config) {
    for b in &cfg.backends {
        match b {
            config::Backend::Command(c) => assert_eq!(c.command, ["true"]),
            config::Backend::Http(h) => {
                let url = url::Url::parse(&h.endpoint).unwrap();
                assert_eq!(url.host_str(), Some("127.0.0.1"), "{}", h.endpoint);
                match &h.auth {
                    config::Auth::Command(a) => assert_eq!(a.command, ["true"]),
                    config::Auth::Oauth(o) => {
                        assert!(!o.open_browser);
                        for argv in [&o.client_id_command, &o.client_secret_command].into_iter().flatten() {
                            assert_eq!(argv, &["true"]);
                        }
                        if let Some(u) = &o.client_metadata_url {
                            assert!(u.starts_with("https://127.0.0.1:"), "{u}");
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Runs `mcpmux list --json` on `doc` made harmless, in a scratch home,
/// with nothing of this process's environment but `PATH`; it must end
/// (killed after a generous bound, which fails the case) without a panic.
fn list_harmless(doc: &Value, n: usize) -> Result<(), TestCaseError> {
    let doc = harmless(doc);
    let text = serde_json::to_string_pretty(&doc).unwrap();
    let cfg = config::parse(&text, "harmless.json", &|_| None)
        .map_err(|d| TestCaseError::fail(format!("the harmless rewrite is invalid:\n{}\n{text}", shown(&d))))?;
    assert_only_harmless(&cfg);

    let home = scratch().join(format!("list-{n}"));
    std::fs::create_dir_all(home.join("state")).unwrap();
    std::fs::create_dir_all(home.join("config")).unwrap();
    let path = home.join("config.json");
    std::fs::write(&path, &text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcpmux"))
        .args(["list", "--json", "--config"])
        .arg(&path)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .current_dir(&home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let bound = Duration::from_secs(300);
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > bound {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            return Err(TestCaseError::fail(format!(
                "mcpmux list did not end within {bound:?} on\n{text}\nstderr: {}",
                String::from_utf8_lossy(&o.stderr)
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = child.wait_with_output().unwrap();
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    prop_assert!(
        !err.contains("panicked at") && o.status.code().is_some_and(|c| c != 101),
        "mcpmux list panicked or was killed ({:?}) on\n{}\nstdout: {}\nstderr: {}",
        o.status,
        text,
        out,
        err
    );
    if !out.trim().is_empty() {
        prop_assert!(serde_json::from_str::<Value>(&out).is_ok(), "list --json printed {out}");
    }
    Ok(())
}

fn text_of(doc: &Value, yaml: bool) -> String {
    if yaml {
        yaml_serde::to_string(doc).unwrap()
    } else {
        serde_json::to_string_pretty(doc).unwrap()
    }
}

fn run(mut runner: TestRunner, strategy: impl Strategy<Value = (Value, bool)>, tally: &Tally) {
    let validator = independent_validator();
    let limit = list_runs();
    let result = runner.run(&strategy, |(doc, yaml)| {
        let text = text_of(&doc, yaml);
        let Some((cfg, expanded)) = check_in_process(&text, &validator, tally)? else {
            return Ok(());
        };
        if cfg.backends.is_empty() {
            return Ok(());
        }
        tally.listable.set(tally.listable.get() + 1);
        if tally.listed.get() < limit {
            tally.listed.set(tally.listed.get() + 1);
            list_harmless(&expanded, tally.listed.get())?;
        }
        Ok(())
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, (doc, yaml))) => {
            panic!(
                "{why}\nminimal document ({}):\n{}",
                if yaml { "YAML" } else { "JSON" },
                text_of(&doc, yaml)
            )
        }
        Err(e) => panic!("{e}"),
    }
}

fn runner(default_cases: u32) -> TestRunner {
    TestRunner::new(RunnerConfig {
        cases: cases(default_cases),
        failure_persistence: None,
        ..RunnerConfig::default()
    })
}

#[test]
fn every_generated_configuration_loads_validates_and_resolves_as_jsonschema_judges_it() {
    let tally = Tally::default();
    run(runner(400), (document(), any::<bool>()), &tally);
    let (n, schema, ours, listed) = (
        tally.cases.get(),
        tally.schema_accepted.get(),
        tally.mcpmux_accepted.get(),
        tally.listed.get(),
    );
    eprintln!("{n} documents: {schema} accepted by jsonschema, {ours} by mcpmux, {listed} listed");
    // Not vacuous: a good share is valid, a good share is not, and `list` ran.
    // (About 30% pass jsonschema and 25% mcpmux over 20 000 documents; the
    // bounds sit far below that, so a random seed never trips them: 400
    // documents once gave 99 and 87.)
    assert!(
        schema * 8 >= n && ours * 10 >= n,
        "{n} documents, {schema} accepted by jsonschema, {ours} by mcpmux"
    );
    assert!(ours < n, "every document accepted: the generator makes no mistakes");
    assert_eq!(listed, list_runs().min(tally.listable.get()), "list runs");
}

#[test]
fn command_line_additions_on_generated_configurations_never_panic() {
    let validator = independent_validator();
    let tally = Tally::default();
    let adhoc = proptest::collection::vec(
        prop_oneof![
            (
                name(),
                proptest::sample::select(vec!["true", "true 'a b'", "'unbalanced", ""])
            )
                .prop_map(|(n, c)| format!("{n}={c}")),
            (name(), endpoint()).prop_map(|(n, e)| format!("{n}={}", e.as_str().unwrap_or("http://127.0.0.1:1/"))),
            "[ -~]{0,12}",
        ],
        0..3,
    );
    let http = proptest::option::of(prop_oneof![
        Just("127.0.0.1:0".to_string()),
        Just("unix:/tmp/x.sock".to_string()),
        "[ -~]{0,12}"
    ]);
    let mut runner = runner(100);
    let result = runner.run(&(document(), http, adhoc), |(doc, http, adhoc)| {
        let text = text_of(&doc, false);
        check_in_process(&text, &validator, &tally)?;
        check_overrides(&text, http, adhoc);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Inputs earlier runs of these tests found, kept as regression cases.
#[test]
fn regressions() {
    let validator = independent_validator();
    let tally = Tally::default();
    for (text, list) in REGRESSIONS {
        if let Some((_, expanded)) = check_in_process(text, &validator, &tally).unwrap()
            && *list
        {
            list_harmless(&expanded, 1000 + tally.cases.get()).unwrap();
        }
    }
}

/// (document, whether to run `list` on it).
const REGRESSIONS: &[(&str, bool)] = &[
    // An endpoint RFC 3986 allows and the URL parser refuses: refused, as `format`.
    (
        r#"{"backends": [{"name": "a", "transport": "http", "endpoint": "http://127.0.0.1:65536"}]}"#,
        false,
    ),
    // An endpoint the URL parser reads and RFC 3986 refuses: refused (was accepted).
    (
        r#"{"backends": [{"name": "a", "transport": "http", "endpoint": "http://127.0.0.1/a b"}]}"#,
        false,
    ),
    // Integers with a zero fraction (were refused).
    (r#"{"listen": {"page_size": 1.0}}"#, false),
    (
        r#"{"backends": [{"name": "a", "transport": "http", "endpoint": "http://127.0.0.1",
            "auth": {"type": "oauth", "callback_port": 0.0}}]}"#,
        true,
    ),
];

#[test]
fn the_duration_reader_of_this_test_agrees_with_the_schema_maximum() {
    assert_eq!(nanos("168h"), Some(MAX_DURATION_NANOS));
    assert_eq!(nanos("167h59m59s999999999ns"), Some(MAX_DURATION_NANOS - 1));
    assert_eq!(nanos("1.5h"), Some(5_400_000_000_000));
    assert_eq!(nanos("0.001ms"), Some(1_000));
    assert_eq!(nanos("1µs"), Some(1_000));
    assert_eq!(nanos("99999999999999999999999999999999999999999h"), None);
    let schema: Value = serde_json::from_str(Config::SCHEMA).unwrap();
    assert_eq!(schema["$defs"]["duration"]["x-max-duration"], "168h");
}
