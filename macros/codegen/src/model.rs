//! Turns the schema's [`Node`]s into the Rust type model: which named types
//! exist (structs, string enums, tagged enums), what Rust type each property
//! has, and whether it is required, defaulted or optional. Naming collisions
//! and shapes the generator cannot express are errors here.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::Error;
use crate::schema::{Additional, JsonType, Node, Schema, XType};

/// Rust integer types, chosen from the schema's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntKind {
    U8,
    U16,
    U32,
    U64,
    I32,
    I64,
}

impl IntKind {
    fn for_bounds(min: Option<i64>, max: Option<i64>) -> IntKind {
        match (min, max) {
            (Some(lo), Some(hi)) if lo >= 0 && hi <= u8::MAX as i64 => IntKind::U8,
            (Some(lo), Some(hi)) if lo >= 0 && hi <= u16::MAX as i64 => IntKind::U16,
            (Some(lo), Some(hi)) if lo >= 0 && hi <= u32::MAX as i64 => IntKind::U32,
            (Some(lo), _) if lo >= 0 => IntKind::U64,
            (Some(lo), Some(hi)) if lo >= i32::MIN as i64 && hi <= i32::MAX as i64 => IntKind::I32,
            _ => IntKind::I64,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            IntKind::U8 => "u8",
            IntKind::U16 => "u16",
            IntKind::U32 => "u32",
            IntKind::U64 => "u64",
            IntKind::I32 => "i32",
            IntKind::I64 => "i64",
        }
    }

    pub fn range(self) -> (i128, i128) {
        match self {
            IntKind::U8 => (0, u8::MAX as i128),
            IntKind::U16 => (0, u16::MAX as i128),
            IntKind::U32 => (0, u32::MAX as i128),
            IntKind::U64 => (0, u64::MAX as i128),
            IntKind::I32 => (i32::MIN as i128, i32::MAX as i128),
            IntKind::I64 => (i64::MIN as i128, i64::MAX as i128),
        }
    }
}

/// The Rust type of a value.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    Bool,
    Int(IntKind),
    String,
    Secret,
    Duration,
    Vec(Box<Ty>),
    Map(Box<Ty>),
    /// A generated type, by its Rust name.
    Named(String),
}

/// How a property is present in its struct.
#[derive(Debug, Clone, PartialEq)]
pub enum Presence {
    Required,
    /// Missing means this value (as written in the schema).
    Default(Value),
    /// Missing means `None`.
    Optional,
}

#[derive(Debug, Clone)]
pub struct Field {
    /// The key as written in YAML/JSON.
    pub key: String,
    pub ty: Ty,
    pub presence: Presence,
    pub doc: Option<String>,
    /// The property's schema (for defaults and literal checks).
    pub node: Node,
}

#[derive(Debug, Clone)]
pub struct Variant {
    /// Value of the tag property selecting this variant.
    pub tag_value: String,
    /// Name of the payload struct.
    pub payload: String,
    /// The `$defs` entry the payload is made from.
    pub def: String,
    /// Keys the payload accepts besides the tag (used to suggest a missing tag).
    pub keys: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum TypeDef {
    Struct {
        doc: Option<String>,
        fields: Vec<Field>,
    },
    StringEnum {
        doc: Option<String>,
        values: Vec<String>,
    },
    Tagged {
        doc: Option<String>,
        tag: String,
        variants: Vec<Variant>,
    },
}

/// All named types, in a stable order (first use).
pub struct Model {
    pub types: BTreeMap<String, TypeDef>,
    pub order: Vec<String>,
    pub root: String,
}

impl Model {
    pub fn build(schema: &Schema) -> Result<Model, Error> {
        let mut b = Builder {
            schema,
            types: BTreeMap::new(),
            order: Vec::new(),
            def_names: BTreeMap::new(),
        };
        let root_name = schema.root.x_rust_name.clone().unwrap_or_else(|| "Config".to_string());
        if schema.root.ty != Some(JsonType::Object) || schema.root.properties.is_empty() {
            return Err(Error::at("", "the root schema must be an object with properties"));
        }
        // Tagged unions first, so their variant structs are made without the tag field.
        for name in &schema.def_order {
            if !schema.defs[name].one_of.is_empty() {
                b.type_of_def(name)?;
            }
        }
        b.define_struct(&root_name, &schema.root, None)?;
        for name in &schema.def_order {
            b.type_of_def(name)?;
        }
        Ok(Model {
            types: b.types,
            order: b.order,
            root: root_name,
        })
    }
}

struct Builder<'a> {
    schema: &'a Schema,
    types: BTreeMap<String, TypeDef>,
    order: Vec<String>,
    /// `$defs` already mapped: def name -> its Rust type.
    def_names: BTreeMap<String, Ty>,
}

impl Builder<'_> {
    fn claim(&mut self, name: &str, at: &str, def: TypeDef) -> Result<(), Error> {
        if self.types.contains_key(name) {
            return Err(Error::at(
                at,
                format!("two schemas would both become the Rust type {name}; give one an x-rust-name"),
            ));
        }
        self.order.push(name.to_string());
        self.types.insert(name.to_string(), def);
        Ok(())
    }

    fn type_of_def(&mut self, def: &str) -> Result<Ty, Error> {
        if let Some(t) = self.def_names.get(def) {
            return Ok(t.clone());
        }
        let node = &self.schema.defs[def];
        let name = node.x_rust_name.clone().unwrap_or_else(|| pascal(def));
        // Reserve the name first so recursive references terminate.
        let ty = self.type_of(node, &name)?;
        self.def_names.insert(def.to_string(), ty.clone());
        Ok(ty)
    }

    /// The Rust type for `node`; `name` is what a named type made from it is called.
    fn type_of(&mut self, node: &Node, name: &str) -> Result<Ty, Error> {
        if let Some(r) = &node.reference {
            return self.type_of_def(r);
        }
        let name = node.x_rust_name.as_deref().unwrap_or(name);
        if !node.one_of.is_empty() {
            self.define_tagged(name, node)?;
            return Ok(Ty::Named(name.to_string()));
        }
        match node.ty {
            Some(JsonType::Object) if !node.properties.is_empty() => {
                self.define_struct(name, node, None)?;
                Ok(Ty::Named(name.to_string()))
            }
            Some(JsonType::Object) => match &node.additional {
                Additional::Schema(s) => Ok(Ty::Map(Box::new(self.type_of(s, &format!("{name}Value"))?))),
                _ => Err(Error::at(
                    &node.at,
                    "an object needs properties (a struct) or an additionalProperties schema (a map)",
                )),
            },
            Some(JsonType::Array) => {
                let items = node
                    .items
                    .as_ref()
                    .ok_or_else(|| Error::at(&node.at, "an array needs items"))?;
                Ok(Ty::Vec(Box::new(self.type_of(items, &format!("{name}Item"))?)))
            }
            Some(JsonType::String) if node.enum_values.is_some() => {
                let values = node.enum_values.clone().unwrap_or_default();
                self.claim(
                    name,
                    &node.at,
                    TypeDef::StringEnum {
                        doc: node.description.clone(),
                        values,
                    },
                )?;
                Ok(Ty::Named(name.to_string()))
            }
            Some(JsonType::String) => Ok(match node.x_type {
                Some(XType::Duration) => Ty::Duration,
                Some(XType::Secret) => Ty::Secret,
                None => Ty::String,
            }),
            Some(JsonType::Integer) => Ok(Ty::Int(IntKind::for_bounds(node.minimum, node.maximum))),
            Some(JsonType::Boolean) => Ok(Ty::Bool),
            None if node.constant.is_some() => Err(Error::at(
                &node.at,
                "a const-only schema is supported only as the tag of a oneOf variant",
            )),
            None => Err(Error::at(&node.at, "the schema has no type")),
        }
    }

    /// A struct from an object schema; `skip` is the tag key when it is a oneOf variant.
    fn define_struct(&mut self, name: &str, node: &Node, skip: Option<&str>) -> Result<(), Error> {
        if !matches!(node.additional, Additional::Forbidden) {
            return Err(Error::at(
                &node.at,
                "an object with properties must set additionalProperties: false (unknown keys are errors)",
            ));
        }
        // Reserve the name before recursing.
        self.claim(
            name,
            &node.at,
            TypeDef::Struct {
                doc: None,
                fields: Vec::new(),
            },
        )?;
        let mut fields = Vec::new();
        for (key, prop) in &node.properties {
            if Some(key.as_str()) == skip {
                continue;
            }
            let ty = self.type_of(prop, &format!("{name}{}", pascal(key)))?;
            let required = node.required.contains(key);
            let default = prop.default.clone().or_else(|| {
                prop.reference
                    .as_ref()
                    .and_then(|r| self.schema.defs[r].default.clone())
            });
            let presence = match (required, default) {
                (true, Some(_)) => {
                    return Err(Error::at(&prop.at, "a required property cannot have a default"));
                }
                (true, None) => Presence::Required,
                (false, Some(d)) => Presence::Default(d),
                (false, None) => Presence::Optional,
            };
            let doc = prop.description.clone().or_else(|| {
                prop.reference
                    .as_ref()
                    .and_then(|r| self.schema.defs[r].description.clone())
            });
            fields.push(Field {
                key: key.clone(),
                ty,
                presence,
                doc,
                node: prop.clone(),
            });
        }
        self.types.insert(
            name.to_string(),
            TypeDef::Struct {
                doc: node.description.clone(),
                fields,
            },
        );
        Ok(())
    }

    fn define_tagged(&mut self, name: &str, node: &Node) -> Result<(), Error> {
        let tag = discriminator(self.schema, node)?;
        self.claim(
            name,
            &node.at,
            TypeDef::Tagged {
                doc: None,
                tag: tag.clone(),
                variants: Vec::new(),
            },
        )?;
        let mut variants = Vec::new();
        for (r, target, tag_value) in tagged_variants(self.schema, node, &tag)? {
            let payload = target.x_rust_name.clone().unwrap_or_else(|| pascal(r));
            self.define_struct(&payload, target, Some(&tag))?;
            self.def_names.insert(r.to_string(), Ty::Named(payload.clone()));
            let keys = target
                .properties
                .iter()
                .map(|(k, _)| k.clone())
                .filter(|k| *k != tag)
                .collect();
            variants.push(Variant {
                tag_value,
                payload,
                def: r.to_string(),
                keys,
            });
        }
        self.types.insert(
            name.to_string(),
            TypeDef::Tagged {
                doc: node.description.clone(),
                tag,
                variants,
            },
        );
        Ok(())
    }
}

/// The variants of a tagged oneOf: each one's `$defs` name, definition and tag value.
pub fn tagged_variants<'a>(
    schema: &'a Schema,
    node: &'a Node,
    tag: &str,
) -> Result<Vec<(&'a str, &'a Node, String)>, Error> {
    node.one_of
        .iter()
        .map(|v| {
            let r = v
                .reference
                .as_deref()
                .ok_or_else(|| Error::at(&v.at, "each oneOf variant must be a $ref to an object definition"))?;
            let target = &schema.defs[r];
            Ok((r, target, variant_tag(target, tag).unwrap_or_default()))
        })
        .collect()
}

/// The const value of `tag` in a oneOf variant.
fn variant_tag(target: &Node, tag: &str) -> Option<String> {
    target
        .properties
        .iter()
        .find(|(k, _)| k == tag)
        .and_then(|(_, p)| p.constant.clone())
}

/// The property that tells a oneOf's variants apart: required in every variant,
/// a distinct `const` in each.
pub fn discriminator(schema: &Schema, node: &Node) -> Result<String, Error> {
    let mut candidates: Option<Vec<String>> = None;
    for v in &node.one_of {
        let target = schema.resolve(v);
        if target.ty != Some(JsonType::Object) {
            return Err(Error::at(&v.at, "each oneOf variant must be an object definition"));
        }
        let consts: Vec<String> = target
            .properties
            .iter()
            .filter(|(k, p)| p.constant.is_some() && target.required.contains(k))
            .map(|(k, _)| k.clone())
            .collect();
        candidates = Some(match candidates {
            None => consts,
            Some(c) => c.into_iter().filter(|k| consts.contains(k)).collect(),
        });
    }
    let candidates = candidates.unwrap_or_default();
    let tag = candidates.first().cloned().ok_or_else(|| {
        Error::at(
            &node.at,
            "oneOf variants need a common required property with a const value in each (the tag)",
        )
    })?;
    let mut seen = Vec::new();
    for v in &node.one_of {
        let value = variant_tag(schema.resolve(v), &tag).unwrap_or_default();
        if seen.contains(&value) {
            return Err(Error::at(
                &v.at,
                format!("two oneOf variants share the tag {tag}: {value}"),
            ));
        }
        seen.push(value);
    }
    Ok(tag)
}

/// `connect_retry` / `commandBackend` / `client-id` -> `ConnectRetry` / `CommandBackend` / `ClientId`.
pub fn pascal(s: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in s.chars() {
        if c == '_' || c == '-' || c == ' ' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `CommandBackend` / `connect_retry` -> `command_backend` / `connect_retry`.
pub fn snake(s: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if c == '-' || c == ' ' {
            out.push('_');
            prev_lower = false;
        } else if c.is_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.extend(c.to_lowercase());
            prev_lower = false;
        } else {
            out.push(c);
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
        }
    }
    out
}
