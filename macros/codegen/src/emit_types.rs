//! Emits the Rust side of the type model: the structs and enums with their
//! serde and schemars attributes, their defaults, accessors for the fields
//! every variant of a tagged enum shares, and Rust literals for JSON values
//! (schema defaults now, baked configurations later), checked against the
//! schema at generation time.

use mcpmux_config_support::duration;
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};
use serde_json::Value;

use crate::Error;
use crate::model::{Field, Model, Presence, Ty, TypeDef, snake};
use crate::schema::{Node, Schema};

/// Rust keywords that need a raw identifier when used as a field name.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
    "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static",
    "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "yield",
];

pub fn field_ident(key: &str) -> Ident {
    let s = snake(key).replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "_");
    if KEYWORDS.contains(&s.as_str()) {
        Ident::new_raw(&s, Span::call_site())
    } else {
        Ident::new(&s, Span::call_site())
    }
}

pub fn type_ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

fn variant_ident(value: &str) -> Ident {
    type_ident(&crate::model::pascal(value))
}

fn doc_attr(doc: &Option<String>) -> TokenStream {
    match doc {
        Some(d) => {
            let d = format!(" {d}");
            quote! { #[doc = #d] }
        }
        None => TokenStream::new(),
    }
}

fn default_fn(owner: &str, key: &str) -> Ident {
    format_ident!("{}__{}", snake(owner), snake(key))
}

pub struct TypeEmitter<'a> {
    pub schema: &'a Schema,
    pub model: &'a Model,
    pub support: &'a TokenStream,
}

impl TypeEmitter<'_> {
    pub fn rust_type(&self, ty: &Ty) -> TokenStream {
        let support = self.support;
        match ty {
            Ty::Bool => quote!(bool),
            Ty::Int(k) => {
                let id = format_ident!("{}", k.name());
                quote!(#id)
            }
            Ty::String => quote!(::std::string::String),
            Ty::Secret => quote!(#support::Secret),
            Ty::Duration => quote!(::std::time::Duration),
            Ty::Vec(t) => {
                let t = self.rust_type(t);
                quote!(::std::vec::Vec<#t>)
            }
            Ty::Map(t) => {
                let t = self.rust_type(t);
                quote!(::std::collections::BTreeMap<::std::string::String, #t>)
            }
            Ty::Named(n) => {
                let id = type_ident(n);
                quote!(#id)
            }
        }
    }

    fn field_type(&self, f: &Field) -> TokenStream {
        let t = self.rust_type(&f.ty);
        match f.presence {
            Presence::Optional => quote!(::std::option::Option<#t>),
            _ => t,
        }
    }

    /// Every type, its impls, and the `__defaults` module.
    pub fn emit(&self) -> Result<TokenStream, Error> {
        let mut items = TokenStream::new();
        let mut defaults = TokenStream::new();
        for name in &self.model.order {
            let def = &self.model.types[name];
            items.extend(self.emit_type(name, def, &mut defaults)?);
        }
        Ok(quote! {
            #items
            #[allow(non_snake_case)]
            mod __defaults {
                #[allow(unused_imports)]
                use super::*;
                #defaults
            }
        })
    }

    fn emit_type(&self, name: &str, def: &TypeDef, defaults: &mut TokenStream) -> Result<TokenStream, Error> {
        let id = type_ident(name);
        let derive = quote! {
            #[derive(Debug, Clone, PartialEq, ::serde::Deserialize, ::serde::Serialize, ::schemars::JsonSchema)]
        };
        Ok(match def {
            TypeDef::Struct { doc, fields } => {
                let doc = doc_attr(doc);
                let mut decls = Vec::new();
                let mut all_default = true;
                for f in fields {
                    let fid = field_ident(&f.key);
                    let fty = self.field_type(f);
                    let fdoc = doc_attr(&f.doc);
                    let mut serde = Vec::<TokenStream>::new();
                    let mut schemars = TokenStream::new();
                    if fid.to_string().trim_start_matches("r#") != f.key {
                        let key = &f.key;
                        serde.push(quote!(rename = #key));
                    }
                    match &f.presence {
                        Presence::Required => all_default = false,
                        Presence::Optional => {
                            serde.push(quote!(default, skip_serializing_if = "::std::option::Option::is_none"));
                        }
                        Presence::Default(v) => {
                            let fname = default_fn(name, &f.key);
                            let path = format!("__defaults::{fname}");
                            serde.push(quote!(default = #path));
                            let lit = self.literal(&f.node, &f.ty, v)?;
                            let ret = self.rust_type(&f.ty);
                            defaults.extend(quote! {
                                pub(super) fn #fname() -> #ret { #lit }
                            });
                        }
                    }
                    if f.ty == Ty::Duration {
                        let support = self.support.to_string().replace(' ', "");
                        let (with, schema_with) = match f.presence {
                            Presence::Optional => (format!("{support}::duration::option"), "Option<String>"),
                            _ => (format!("{support}::duration"), "String"),
                        };
                        serde.push(quote!(with = #with));
                        schemars = quote!(#[schemars(with = #schema_with)]);
                    }
                    let serde = if serde.is_empty() {
                        TokenStream::new()
                    } else {
                        quote!(#[serde(#(#serde),*)])
                    };
                    decls.push(quote! { #fdoc #serde #schemars pub #fid: #fty });
                }
                let default_impl = if all_default {
                    let inits = fields.iter().map(|f| {
                        let fid = field_ident(&f.key);
                        match f.presence {
                            Presence::Optional => quote!(#fid: ::std::option::Option::None),
                            _ => {
                                let fname = default_fn(name, &f.key);
                                quote!(#fid: __defaults::#fname())
                            }
                        }
                    });
                    quote! {
                        impl ::std::default::Default for #id {
                            fn default() -> Self { #id { #(#inits),* } }
                        }
                    }
                } else {
                    TokenStream::new()
                };
                quote! {
                    #doc
                    #derive
                    #[serde(deny_unknown_fields)]
                    pub struct #id { #(#decls),* }
                    #default_impl
                }
            }
            TypeDef::StringEnum { doc, values } => {
                let doc = doc_attr(doc);
                let vids: Vec<Ident> = values.iter().map(|v| variant_ident(v)).collect();
                quote! {
                    #doc
                    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Deserialize, ::serde::Serialize, ::schemars::JsonSchema)]
                    pub enum #id { #( #[serde(rename = #values)] #vids ),* }
                    impl #id {
                        /// The value as written in the configuration.
                        pub fn as_str(&self) -> &'static str {
                            match self { #( #id::#vids => #values ),* }
                        }
                    }
                    impl ::std::fmt::Display for #id {
                        fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                            f.write_str(self.as_str())
                        }
                    }
                }
            }
            TypeDef::Tagged { doc, tag, variants } => {
                let doc = doc_attr(doc);
                let vids: Vec<Ident> = variants.iter().map(|v| variant_ident(&v.tag_value)).collect();
                let values: Vec<&String> = variants.iter().map(|v| &v.tag_value).collect();
                let payloads: Vec<Ident> = variants.iter().map(|v| type_ident(&v.payload)).collect();
                let accessors = self.shared_accessors(&id, &vids, variants.iter().map(|v| v.payload.as_str()));
                quote! {
                    #doc
                    #derive
                    #[serde(tag = #tag)]
                    pub enum #id { #( #[serde(rename = #values)] #vids(#payloads) ),* }
                    impl #id {
                        /// The tag value selecting this variant, as written in the configuration.
                        pub fn tag(&self) -> &'static str {
                            match self { #( #id::#vids(_) => #values ),* }
                        }
                        #accessors
                    }
                }
            }
        })
    }

    /// `fn name(&self) -> &T` for each field all variants share with the same type.
    fn shared_accessors<'b>(&self, id: &Ident, vids: &[Ident], payloads: impl Iterator<Item = &'b str>) -> TokenStream {
        let structs: Vec<&Vec<Field>> = payloads
            .map(|p| match &self.model.types[p] {
                TypeDef::Struct { fields, .. } => fields,
                _ => unreachable!("variant payloads are structs"),
            })
            .collect();
        let Some(first) = structs.first() else {
            return TokenStream::new();
        };
        let mut out = TokenStream::new();
        for f in first.iter() {
            let shared = structs.iter().all(|fields| {
                fields
                    .iter()
                    .any(|g| g.key == f.key && g.ty == f.ty && g.presence == f.presence)
            });
            if !shared {
                continue;
            }
            let fid = field_ident(&f.key);
            let fty = self.field_type(f);
            let doc = doc_attr(&f.doc);
            out.extend(quote! {
                #doc
                pub fn #fid(&self) -> &#fty {
                    match self { #( #id::#vids(v) => &v.#fid ),* }
                }
            });
        }
        out
    }

    /// A Rust expression of type `ty` for the JSON `value`, checked against `node`.
    pub fn literal(&self, node: &Node, ty: &Ty, value: &Value) -> Result<TokenStream, Error> {
        let node = self.schema.resolve(node);
        let support = self.support;
        let bad = |what: &str| Error::at(&node.at, format!("value {value} does not fit: {what}"));
        Ok(match ty {
            Ty::Bool => {
                let b = value.as_bool().ok_or_else(|| bad("expected a boolean"))?;
                quote!(#b)
            }
            Ty::Int(k) => {
                let n = value
                    .as_i64()
                    .map(i128::from)
                    .or_else(|| value.as_u64().map(i128::from))
                    .ok_or_else(|| bad("expected an integer"))?;
                let (lo, hi) = k.range();
                let below = node.minimum.is_some_and(|m| n < m as i128);
                let above = node.maximum.is_some_and(|m| n > m as i128);
                if n < lo || n > hi || below || above {
                    return Err(bad("out of range"));
                }
                let lit = proc_macro2::Literal::i128_unsuffixed(n);
                quote!(#lit)
            }
            Ty::String | Ty::Secret | Ty::Duration => {
                let s = value.as_str().ok_or_else(|| bad("expected a string"))?;
                check_string(node, s).map_err(|m| bad(&m))?;
                if *ty == Ty::Duration {
                    check_duration(node, s).map_err(|m| bad(&m))?;
                }
                match ty {
                    Ty::String => quote!(::std::string::String::from(#s)),
                    Ty::Secret => quote!(#support::Secret::new(::std::string::String::from(#s))),
                    _ => quote!(#support::duration::parse(#s).expect("checked at generation time")),
                }
            }
            Ty::Vec(item) => {
                let list = value.as_array().ok_or_else(|| bad("expected an array"))?;
                let item_node = node.items.as_deref().ok_or_else(|| bad("array without items"))?;
                let elems = list
                    .iter()
                    .map(|v| self.literal(item_node, item, v))
                    .collect::<Result<Vec<_>, _>>()?;
                quote!(::std::vec![#(#elems),*])
            }
            Ty::Map(v_ty) => {
                let map = value.as_object().ok_or_else(|| bad("expected an object"))?;
                let crate::schema::Additional::Schema(v_node) = &node.additional else {
                    return Err(bad("map without additionalProperties"));
                };
                let entries = map
                    .iter()
                    .map(|(k, v)| {
                        let lit = self.literal(v_node, v_ty, v)?;
                        Ok(quote!((::std::string::String::from(#k), #lit)))
                    })
                    .collect::<Result<Vec<_>, Error>>()?;
                quote!(::std::collections::BTreeMap::from([#(#entries),*]))
            }
            Ty::Named(name) => self.named_literal(name, node, value)?,
        })
    }

    fn named_literal(&self, name: &str, node: &Node, value: &Value) -> Result<TokenStream, Error> {
        let id = type_ident(name);
        let bad = |what: String| Error::at(&node.at, format!("value {value} does not fit {name}: {what}"));
        match &self.model.types[name] {
            TypeDef::StringEnum { values, .. } => {
                let s = value.as_str().ok_or_else(|| bad("expected a string".into()))?;
                if !values.iter().any(|v| v == s) {
                    return Err(bad(format!("{s} is not one of {values:?}")));
                }
                let v = variant_ident(s);
                Ok(quote!(#id::#v))
            }
            TypeDef::Tagged { tag, variants, .. } => {
                let obj = value.as_object().ok_or_else(|| bad("expected an object".into()))?;
                let t = obj
                    .get(tag)
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad(format!("missing {tag}")))?;
                let variant = variants
                    .iter()
                    .find(|v| v.tag_value == t)
                    .ok_or_else(|| bad(format!("unknown {tag} {t}")))?;
                let mut rest = obj.clone();
                rest.remove(tag);
                let payload_node = &self.schema.defs[&variant.def];
                let inner = self.struct_literal(&variant.payload, payload_node, &Value::Object(rest))?;
                let v = variant_ident(t);
                Ok(quote!(#id::#v(#inner)))
            }
            TypeDef::Struct { .. } => self.struct_literal(name, node, value),
        }
    }

    fn struct_literal(&self, name: &str, node: &Node, value: &Value) -> Result<TokenStream, Error> {
        let TypeDef::Struct { fields, .. } = &self.model.types[name] else {
            unreachable!("struct_literal on a struct")
        };
        let id = type_ident(name);
        let obj = value.as_object().ok_or_else(|| {
            Error::at(
                &node.at,
                format!("value {value} does not fit {name}: expected an object"),
            )
        })?;
        if let Some(k) = obj.keys().find(|k| !fields.iter().any(|f| &f.key == *k)) {
            return Err(Error::at(
                &node.at,
                format!("value {value} does not fit {name}: unknown key {k}"),
            ));
        }
        let defaultable = fields.iter().all(|f| f.presence != Presence::Required);
        if obj.is_empty() && defaultable {
            return Ok(quote!(<#id as ::std::default::Default>::default()));
        }
        let mut inits = Vec::new();
        for f in fields {
            let fid = field_ident(&f.key);
            let init = match (obj.get(&f.key), &f.presence) {
                (Some(v), Presence::Optional) => {
                    let lit = self.literal(&f.node, &f.ty, v)?;
                    quote!(::std::option::Option::Some(#lit))
                }
                (Some(v), _) => self.literal(&f.node, &f.ty, v)?,
                (None, Presence::Optional) => quote!(::std::option::Option::None),
                (None, Presence::Default(_)) => {
                    let fname = default_fn(name, &f.key);
                    quote!(__defaults::#fname())
                }
                (None, Presence::Required) => {
                    return Err(Error::at(
                        &node.at,
                        format!("value {value} does not fit {name}: missing required {}", f.key),
                    ));
                }
            };
            inits.push(quote!(#fid: #init));
        }
        Ok(quote!(#id { #(#inits),* }))
    }
}

/// A duration literal must parse (the generated code unwraps it) and keep
/// within the node's `x-max-duration`, at generation time.
fn check_duration(node: &Node, s: &str) -> Result<(), String> {
    let value = duration::parse(s).map_err(|_| "not a duration that fits")?;
    match &node.x_max_duration {
        Some(max) if value > max.value => Err(format!("longer than x-max-duration {}", max.text)),
        _ => Ok(()),
    }
}

/// The string checks of `node` (enum, const, lengths, pattern), at generation time.
fn check_string(node: &Node, s: &str) -> Result<(), String> {
    if let Some(values) = &node.enum_values
        && !values.iter().any(|v| v == s)
    {
        return Err(format!("not one of {values:?}"));
    }
    let len = s.chars().count() as u64;
    if node.min_length.is_some_and(|m| len < m) || node.max_length.is_some_and(|m| len > m) {
        return Err("length out of range".into());
    }
    if let Some(p) = &node.pattern {
        let re = regex_lite::Regex::new(p).map_err(|e| e.to_string())?;
        if !re.is_match(s) {
            return Err(format!("does not match {p}"));
        }
    }
    Ok(())
}
