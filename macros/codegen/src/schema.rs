//! Reads a JSON Schema document into [`Node`]s, the generator's view of it, and
//! refuses every keyword the generator does not implement: a schema the
//! generator cannot honour fully is an error naming the keyword and where it
//! stands, never a silently weaker validator.

use std::collections::BTreeMap;

use mcpmux_config_support::duration;
use mcpmux_config_support::pointer::escape;
use serde_json::{Map, Value};

use crate::Error;

/// The JSON types the generator maps to Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    Object,
    Array,
    String,
    Integer,
    Boolean,
}

/// The `x-type` extension: a string with a dedicated Rust type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XType {
    /// Go-style duration text (`90s`, `1h30m`) held as `std::time::Duration`.
    Duration,
    /// A value that must never be printed; held in the support crate's `Secret`.
    Secret,
}

/// The `x-max-duration` extension: the longest value an `x-type: duration`
/// string may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaxDuration {
    /// The bound as the schema writes it (error messages quote it).
    pub text: String,
    pub value: std::time::Duration,
}

/// `additionalProperties` of an object.
#[derive(Debug, Clone)]
pub enum Additional {
    /// Not given: other keys are allowed (only valid on objects without `properties`).
    Unspecified,
    /// `false`: unknown keys are errors.
    Forbidden,
    /// A schema: the object is a map from any key to this.
    Schema(Box<Node>),
}

/// One schema (sub)document, restricted to the supported keywords.
#[derive(Debug, Clone)]
pub struct Node {
    /// JSON pointer of this node inside the schema document (for messages).
    pub at: String,
    /// Name of the `$defs` entry this node refers to (`#/$defs/<name>`).
    pub reference: Option<String>,
    pub ty: Option<JsonType>,
    pub description: Option<String>,
    pub default: Option<Value>,
    pub properties: Vec<(String, Node)>,
    pub required: Vec<String>,
    pub additional: Additional,
    pub property_names: Option<Box<Node>>,
    pub items: Option<Box<Node>>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub enum_values: Option<Vec<String>>,
    pub constant: Option<String>,
    pub pattern: Option<String>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub format_uri: bool,
    pub minimum: Option<i64>,
    pub maximum: Option<i64>,
    pub one_of: Vec<Node>,
    /// From `allOf: [{not: {required: [a, b]}}, ...]`: groups of which at most one may be set.
    pub exclusive: Vec<Vec<String>>,
    pub x_rust_name: Option<String>,
    pub x_type: Option<XType>,
    pub x_max_duration: Option<MaxDuration>,
    pub x_unique_by: Option<String>,
    pub x_message: Option<String>,
    pub x_hint: Option<String>,
}

/// The whole document: the root node and the `$defs`, in file order.
#[derive(Debug, Clone)]
pub struct Schema {
    pub root: Node,
    pub defs: BTreeMap<String, Node>,
    /// `$defs` names in the order they appear in the file (for stable output).
    pub def_order: Vec<String>,
}

/// Keywords the generator implements; anything else is an error.
pub const SUPPORTED: &[&str] = &[
    "$schema",
    "$id",
    "$defs",
    "$ref",
    "$comment",
    "title",
    "description",
    "examples",
    "default",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "propertyNames",
    "items",
    "minItems",
    "maxItems",
    "enum",
    "const",
    "pattern",
    "minLength",
    "maxLength",
    "format",
    "minimum",
    "maximum",
    "oneOf",
    "allOf",
    "x-rust-name",
    "x-type",
    "x-max-duration",
    "x-unique-by",
    "x-message",
    "x-hint",
];

impl Schema {
    /// Parses and checks a schema document.
    pub fn parse(text: &str) -> Result<Schema, Error> {
        let doc: Value = serde_json::from_str(text).map_err(|e| Error::Json(e.to_string()))?;
        let obj = doc
            .as_object()
            .ok_or_else(|| Error::at("", "the schema must be a JSON object"))?;
        match obj.get("$schema").and_then(Value::as_str) {
            Some("https://json-schema.org/draft/2020-12/schema") => {}
            Some(other) => {
                return Err(Error::at(
                    "/$schema",
                    format!("unsupported dialect {other}; use https://json-schema.org/draft/2020-12/schema"),
                ));
            }
            None => return Err(Error::at("", "missing $schema (use JSON Schema 2020-12)")),
        }
        let mut defs = BTreeMap::new();
        let mut def_order = Vec::new();
        if let Some(d) = obj.get("$defs") {
            let d = d
                .as_object()
                .ok_or_else(|| Error::at("/$defs", "$defs must be an object"))?;
            for (name, sub) in d {
                let node = parse_node(sub, &format!("/$defs/{}", escape(name)), false)?;
                def_order.push(name.clone());
                defs.insert(name.clone(), node);
            }
        }
        let root = parse_node(&doc, "", true)?;
        let schema = Schema { root, defs, def_order };
        schema.check_refs(&schema.root)?;
        for d in schema.defs.values() {
            schema.check_refs(d)?;
        }
        Ok(schema)
    }

    /// Resolves a node through its `$ref` (one level: defs never point at defs
    /// that point further, which `check_refs` enforces).
    pub fn resolve<'a>(&'a self, node: &'a Node) -> &'a Node {
        match &node.reference {
            Some(r) => &self.defs[r],
            None => node,
        }
    }

    fn check_refs(&self, node: &Node) -> Result<(), Error> {
        if let Some(r) = &node.reference {
            let target = self
                .defs
                .get(r)
                .ok_or_else(|| Error::at(&node.at, format!("$ref points at #/$defs/{r}, which does not exist")))?;
            if target.reference.is_some() {
                return Err(Error::at(
                    &node.at,
                    format!("$ref to #/$defs/{r}, which is itself only a $ref; point at the target directly"),
                ));
            }
        }
        for (_, p) in &node.properties {
            self.check_refs(p)?;
        }
        if let Additional::Schema(s) = &node.additional {
            self.check_refs(s)?;
        }
        for child in node.items.iter().chain(node.property_names.iter()) {
            self.check_refs(child)?;
        }
        for v in &node.one_of {
            self.check_refs(v)?;
        }
        Ok(())
    }
}

fn parse_node(v: &Value, at: &str, is_root: bool) -> Result<Node, Error> {
    let obj = v
        .as_object()
        .ok_or_else(|| Error::at(at, "a schema must be an object (boolean schemas are not supported)"))?;
    for key in obj.keys() {
        if !SUPPORTED.contains(&key.as_str()) {
            return Err(Error::Unsupported {
                keyword: key.clone(),
                at: format!("{at}/{}", escape(key)),
            });
        }
        if !is_root && matches!(key.as_str(), "$schema" | "$id" | "$defs") {
            return Err(Error::at(
                &format!("{at}/{key}"),
                format!("{key} is only supported at the root of the schema"),
            ));
        }
    }
    let mut node = Node {
        at: at.to_string(),
        reference: None,
        ty: None,
        description: opt_str(obj, "description", at)?,
        default: obj.get("default").cloned(),
        properties: Vec::new(),
        required: Vec::new(),
        additional: Additional::Unspecified,
        property_names: None,
        items: None,
        min_items: opt_u64(obj, "minItems", at)?,
        max_items: opt_u64(obj, "maxItems", at)?,
        enum_values: None,
        constant: None,
        pattern: opt_str(obj, "pattern", at)?,
        min_length: opt_u64(obj, "minLength", at)?,
        max_length: opt_u64(obj, "maxLength", at)?,
        format_uri: false,
        minimum: opt_i64(obj, "minimum", at)?,
        maximum: opt_i64(obj, "maximum", at)?,
        one_of: Vec::new(),
        exclusive: Vec::new(),
        x_rust_name: opt_str(obj, "x-rust-name", at)?,
        x_type: None,
        x_max_duration: None,
        x_unique_by: opt_str(obj, "x-unique-by", at)?,
        x_message: opt_str(obj, "x-message", at)?,
        x_hint: opt_str(obj, "x-hint", at)?,
    };
    if let Some(r) = obj.get("$ref") {
        let r = r
            .as_str()
            .ok_or_else(|| Error::at(&format!("{at}/$ref"), "$ref must be a string"))?;
        let name = r.strip_prefix("#/$defs/").ok_or_else(|| {
            Error::at(
                &format!("{at}/$ref"),
                format!("$ref {r} is not supported; only local #/$defs/<name> references are"),
            )
        })?;
        node.reference = Some(name.to_string());
        let allowed = ["$ref", "description", "default", "title", "examples", "$comment"];
        if let Some(k) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(Error::at(
                &format!("{at}/{}", escape(k)),
                format!("{k} next to $ref is not supported; put it in the referenced definition"),
            ));
        }
    }
    if let Some(t) = obj.get("type") {
        node.ty = Some(match t.as_str() {
            Some("object") => JsonType::Object,
            Some("array") => JsonType::Array,
            Some("string") => JsonType::String,
            Some("integer") => JsonType::Integer,
            Some("boolean") => JsonType::Boolean,
            _ => {
                return Err(Error::at(
                    &format!("{at}/type"),
                    format!("type {t} is not supported; use one of object, array, string, integer, boolean"),
                ));
            }
        });
    }
    if let Some(p) = obj.get("properties") {
        let p = p
            .as_object()
            .ok_or_else(|| Error::at(&format!("{at}/properties"), "properties must be an object"))?;
        for (k, sub) in p {
            let child = parse_node(sub, &format!("{at}/properties/{}", escape(k)), false)?;
            node.properties.push((k.clone(), child));
        }
    }
    if let Some(r) = obj.get("required") {
        node.required = string_list(r, &format!("{at}/required"))?;
        for name in &node.required {
            if !node.properties.iter().any(|(k, _)| k == name) {
                return Err(Error::at(
                    &format!("{at}/required"),
                    format!("required property {name} is not declared in properties"),
                ));
            }
        }
    }
    match obj.get("additionalProperties") {
        None => {}
        Some(Value::Bool(false)) => node.additional = Additional::Forbidden,
        Some(Value::Bool(true)) => {}
        Some(s) => {
            node.additional = Additional::Schema(Box::new(parse_node(s, &format!("{at}/additionalProperties"), false)?))
        }
    }
    if let Some(pn) = obj.get("propertyNames") {
        let pn_at = format!("{at}/propertyNames");
        let child = parse_node(pn, &pn_at, false)?;
        if child.pattern.is_none() || child.reference.is_some() || child.ty.is_some_and(|t| t != JsonType::String) {
            return Err(Error::at(
                &pn_at,
                "propertyNames supports a pattern (with x-message/x-hint) only",
            ));
        }
        node.property_names = Some(Box::new(child));
    }
    if let Some(items) = obj.get("items") {
        node.items = Some(Box::new(parse_node(items, &format!("{at}/items"), false)?));
    }
    if let Some(e) = obj.get("enum") {
        let values = string_list(e, &format!("{at}/enum"))?;
        if values.is_empty() {
            return Err(Error::at(&format!("{at}/enum"), "enum must not be empty"));
        }
        node.enum_values = Some(values);
    }
    if let Some(c) = obj.get("const") {
        node.constant = Some(
            c.as_str()
                .ok_or_else(|| Error::at(&format!("{at}/const"), "only string constants are supported"))?
                .to_string(),
        );
    }
    if let Some(f) = obj.get("format") {
        match f.as_str() {
            Some("uri") => node.format_uri = true,
            _ => {
                return Err(Error::at(
                    &format!("{at}/format"),
                    format!("format {f} is not supported; only uri is"),
                ));
            }
        }
    }
    if let Some(x) = obj.get("x-type") {
        node.x_type = Some(match x.as_str() {
            Some("duration") => XType::Duration,
            Some("secret") => XType::Secret,
            _ => {
                return Err(Error::at(
                    &format!("{at}/x-type"),
                    format!("x-type {x} is not supported; use duration or secret"),
                ));
            }
        });
        if node.ty != Some(JsonType::String) {
            return Err(Error::at(&format!("{at}/x-type"), "x-type needs type: string"));
        }
    }
    if let Some(pattern) = &node.pattern {
        regex_lite::Regex::new(pattern)
            .map_err(|e| Error::at(&format!("{at}/pattern"), format!("pattern does not compile: {e}")))?;
    }
    if let Some(m) = obj.get("x-max-duration") {
        node.x_max_duration = Some(parse_max_duration(&node, m, &format!("{at}/x-max-duration"))?);
    }
    if let Some(o) = obj.get("oneOf") {
        let list = o
            .as_array()
            .ok_or_else(|| Error::at(&format!("{at}/oneOf"), "oneOf must be an array"))?;
        for (i, sub) in list.iter().enumerate() {
            node.one_of.push(parse_node(sub, &format!("{at}/oneOf/{i}"), false)?);
        }
        if node.one_of.is_empty() {
            return Err(Error::at(&format!("{at}/oneOf"), "oneOf must not be empty"));
        }
    }
    if let Some(a) = obj.get("allOf") {
        node.exclusive = parse_exclusive(a, &format!("{at}/allOf"))?;
    }
    if let Some(u) = &node.x_unique_by
        && node.ty != Some(JsonType::Array)
    {
        return Err(Error::at(
            &format!("{at}/x-unique-by"),
            format!("x-unique-by {u} needs type: array"),
        ));
    }
    Ok(node)
}

/// `x-max-duration`: duration text (matching the node's own pattern, if any)
/// on an `x-type: duration` string.
fn parse_max_duration(node: &Node, v: &Value, at: &str) -> Result<MaxDuration, Error> {
    if node.x_type != Some(XType::Duration) {
        return Err(Error::at(at, "x-max-duration needs x-type: duration"));
    }
    let text = v
        .as_str()
        .ok_or_else(|| Error::at(at, "x-max-duration must be a string, a duration like 168h"))?;
    let value = duration::parse(text).map_err(|_| {
        Error::at(
            at,
            format!("x-max-duration {text:?} is not a duration (write it like 168h)"),
        )
    })?;
    if let Some(pattern) = &node.pattern
        && !regex_lite::Regex::new(pattern).is_ok_and(|re| re.is_match(text))
    {
        return Err(Error::at(
            at,
            format!("x-max-duration {text:?} does not match the schema's own pattern {pattern}"),
        ));
    }
    Ok(MaxDuration {
        text: text.to_string(),
        value,
    })
}

/// `allOf` is supported in one shape: a list of `{"not": {"required": [a, b, ...]}}`,
/// meaning "at most one of these properties may be set".
fn parse_exclusive(v: &Value, at: &str) -> Result<Vec<Vec<String>>, Error> {
    let shape = "allOf supports only [{\"not\": {\"required\": [a, b]}}, ...] (mutually exclusive properties)";
    let list = v.as_array().ok_or_else(|| Error::at(at, shape))?;
    let mut groups = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let item_at = format!("{at}/{i}");
        let not = item
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.get("not"))
            .and_then(Value::as_object)
            .filter(|o| o.len() == 1)
            .and_then(|o| o.get("required"))
            .ok_or_else(|| Error::at(&item_at, shape))?;
        let names = string_list(not, &format!("{item_at}/not/required"))?;
        if names.len() < 2 {
            return Err(Error::at(
                &item_at,
                "a mutually exclusive group needs two or more properties",
            ));
        }
        groups.push(names);
    }
    Ok(groups)
}

fn string_list(v: &Value, at: &str) -> Result<Vec<String>, Error> {
    v.as_array()
        .and_then(|a| a.iter().map(|x| x.as_str().map(str::to_string)).collect())
        .ok_or_else(|| Error::at(at, "expected an array of strings"))
}

fn opt_str(obj: &Map<String, Value>, key: &str, at: &str) -> Result<Option<String>, Error> {
    obj.get(key)
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| Error::at(&format!("{at}/{key}"), format!("{key} must be a string")))
        })
        .transpose()
}

fn opt_u64(obj: &Map<String, Value>, key: &str, at: &str) -> Result<Option<u64>, Error> {
    obj.get(key)
        .map(|v| {
            v.as_u64()
                .ok_or_else(|| Error::at(&format!("{at}/{key}"), format!("{key} must be a non-negative integer")))
        })
        .transpose()
}

fn opt_i64(obj: &Map<String, Value>, key: &str, at: &str) -> Result<Option<i64>, Error> {
    obj.get(key)
        .map(|v| {
            v.as_i64()
                .ok_or_else(|| Error::at(&format!("{at}/{key}"), format!("{key} must be an integer")))
        })
        .transpose()
}
