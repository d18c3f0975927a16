//! Guards the generator against drifting from its source: the JSON Schema
//! that schemars derives from the *generated* Rust types must describe the
//! same configuration as `schema/mcpmux.schema.json` — the same keys at every
//! level, the same required keys, the same closed objects, enums, tags and
//! defaults. (Patterns and ranges are the validator's job; the corpus tests
//! cover those.)

use serde_json::{Map, Value, json};

/// Follows `$ref`s (local `#/$defs/...`) until a real schema is reached.
fn resolve<'a>(doc: &'a Value, mut node: &'a Value) -> &'a Value {
    while let Some(r) = node.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/").expect("local reference");
        node = &doc["$defs"][name];
    }
    node
}

/// The default of a property (on the property or its referenced definition),
/// with the defaults of nested object properties filled in.
fn default_of(doc: &Value, prop: &Value) -> Option<Value> {
    let d = prop.get("default").or_else(|| resolve(doc, prop).get("default"))?;
    Some(fill_defaults(doc, resolve(doc, prop), d.clone()))
}

fn fill_defaults(doc: &Value, node: &Value, mut value: Value) -> Value {
    if let (Some(props), Some(obj)) = (node.get("properties").and_then(Value::as_object), value.as_object_mut()) {
        for (k, p) in props {
            if let Some(d) = default_of(doc, p) {
                obj.entry(k.clone()).or_insert(d);
            }
        }
    }
    value
}

/// A canonical description of what `node` accepts, comparable across the two documents.
fn shape(doc: &Value, node: &Value) -> Value {
    let node = resolve(doc, node);
    // An optional value without a default: schemars writes `anyOf: [T, null]`.
    if let Some(variants) = node.get("anyOf").and_then(Value::as_array)
        && let [only] = variants
            .iter()
            .filter(|v| v.get("type") != Some(&json!("null")))
            .collect::<Vec<_>>()[..]
    {
        return shape(doc, only);
    }
    if let Some(variants) = node.get("oneOf").and_then(Value::as_array) {
        let mut shapes: Vec<Value> = variants.iter().map(|v| shape(doc, v)).collect();
        shapes.sort_by_key(|s| s.to_string());
        return json!({ "oneOf": shapes });
    }
    if let Some(c) = node.get("const") {
        return json!({ "const": c });
    }
    let ty = match node.get("type") {
        Some(Value::Array(types)) => types.iter().find(|t| *t != "null").cloned().unwrap_or(Value::Null),
        Some(t) => t.clone(),
        None => Value::Null,
    };
    let mut out = Map::new();
    out.insert("type".into(), ty.clone());
    match ty.as_str() {
        Some("object") => {
            let mut props = Map::new();
            if let Some(p) = node.get("properties").and_then(Value::as_object) {
                for (k, v) in p {
                    let mut s = shape(doc, v);
                    if let Some(d) = default_of(doc, v) {
                        s["default"] = d;
                    }
                    props.insert(k.clone(), s);
                }
            }
            out.insert("properties".into(), Value::Object(props));
            let mut required: Vec<String> = node
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(|x| x.as_str().map(String::from)).collect())
                .unwrap_or_default();
            required.sort();
            out.insert("required".into(), json!(required));
            let additional = match node.get("additionalProperties") {
                Some(Value::Bool(b)) => json!(b),
                Some(s) => shape(doc, s),
                None => json!(true),
            };
            out.insert("additionalProperties".into(), additional);
        }
        Some("array") => {
            out.insert("items".into(), shape(doc, &node["items"]));
        }
        Some("string") => {
            if let Some(e) = node.get("enum") {
                out.insert("enum".into(), e.clone());
            }
        }
        _ => {}
    }
    Value::Object(out)
}

/// Where two shapes first differ, as a path.
fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                let d = match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => first_difference(u, v, &format!("{path}/{k}")),
                    (u, v) => Some(format!("{path}/{k}: {u:?} vs {v:?}")),
                };
                if d.is_some() {
                    return d;
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (u, v))| first_difference(u, v, &format!("{path}/{i}"))),
        _ if a == b => None,
        _ => Some(format!("{path}: {a} vs {b}")),
    }
}

#[test]
fn generated_types_describe_the_same_configuration_as_the_schema() {
    let source: Value = serde_json::from_str(mcpmux::config::Config::SCHEMA).unwrap();
    let derived = serde_json::to_value(schemars::schema_for!(mcpmux::config::Config)).unwrap();
    let (a, b) = (shape(&source, &source), shape(&derived, &derived));
    assert!(
        a == b,
        "schema/mcpmux.schema.json and the generated types disagree at {}",
        first_difference(&a, &b, "").unwrap_or_default()
    );
    // The comparison itself must see the structure, or it proves nothing.
    assert!(
        a["properties"]["backends"]["items"]["oneOf"]
            .as_array()
            .is_some_and(|v| v.len() == 2)
    );
}

#[test]
fn the_comparison_notices_a_drift() {
    let source: Value = serde_json::from_str(mcpmux::config::Config::SCHEMA).unwrap();
    let mut drifted = source.clone();
    drifted["$defs"]["authBearer"]["properties"]["token_file"] = json!({"type": "string"});
    assert_ne!(shape(&source, &source), shape(&drifted, &drifted));
    let mut drifted = source.clone();
    drifted["$defs"]["listen"]["properties"]["path"]["default"] = json!("/other");
    assert_ne!(shape(&source, &source), shape(&drifted, &drifted));
}
