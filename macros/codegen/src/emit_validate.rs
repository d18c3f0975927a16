//! Emits the validator: one function per `$defs` entry plus one for the root,
//! each walking a `serde_json::Value` and recording *every* violation with its
//! JSON pointer through the support module's `Errors`. Patterns become
//! lazily compiled statics; hints (`x-hint`) attach to the errors of the
//! schema that carries them. Durations are read as well as matched, so one
//! too large for its `x-max-duration` (or for any timer) is a located error,
//! not a failure later on.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use crate::Error;
use crate::model::{discriminator, snake, tagged_variants};
use crate::schema::{Additional, JsonType, Node, Schema, XType};

pub struct ValidateEmitter<'a> {
    pub schema: &'a Schema,
    pub support: &'a TokenStream,
    statics: Vec<TokenStream>,
}

pub fn def_fn(def: &str) -> Ident {
    format_ident!("validate_{}", snake(def))
}

impl<'a> ValidateEmitter<'a> {
    pub fn new(schema: &'a Schema, support: &'a TokenStream) -> Self {
        ValidateEmitter {
            schema,
            support,
            statics: Vec::new(),
        }
    }

    /// The `__validate` module: `validate_root` and one function per definition.
    pub fn emit(mut self) -> Result<TokenStream, Error> {
        let support = self.support;
        let mut fns = TokenStream::new();
        let root = self.check(&self.schema.root)?;
        fns.extend(quote! {
            pub(super) fn validate_root(v: &Value, p: &mut Path, e: &mut Errors) { #root }
        });
        for name in &self.schema.def_order {
            let body = self.check(&self.schema.defs[name])?;
            let f = def_fn(name);
            fns.extend(quote! {
                fn #f(v: &Value, p: &mut Path, e: &mut Errors) { #body }
            });
        }
        let statics = &self.statics;
        Ok(quote! {
            #[allow(unused_variables, clippy::all)]
            mod __validate {
                use ::serde_json::Value;
                use #support::{Errors, Path, Regex};
                #(#statics)*
                #fns
            }
        })
    }

    fn regex(&mut self, pattern: &str) -> Ident {
        let id = format_ident!("RE_{}", self.statics.len());
        self.statics.push(quote! {
            static #id: ::std::sync::LazyLock<Regex> =
                ::std::sync::LazyLock::new(|| Regex::new(#pattern).expect("pattern checked at generation time"));
        });
        id
    }

    /// Statements validating `v` (at `p`) against `node`.
    fn check(&mut self, node: &Node) -> Result<TokenStream, Error> {
        if let Some(r) = &node.reference {
            let f = def_fn(r);
            return Ok(quote!(#f(v, p, e);));
        }
        let body = self.check_inner(node)?;
        Ok(match &node.x_hint {
            Some(h) => quote! {
                let mark = e.mark();
                #body
                e.hint_since(mark, #h);
            },
            None => body,
        })
    }

    fn check_inner(&mut self, node: &Node) -> Result<TokenStream, Error> {
        if !node.one_of.is_empty() {
            return self.check_one_of(node);
        }
        let show = node.x_type != Some(XType::Secret);
        Ok(match node.ty {
            Some(JsonType::Object) => self.check_object(node)?,
            Some(JsonType::Array) => {
                let mut body = TokenStream::new();
                if let Some(n) = node.min_items {
                    body.extend(quote!(e.min_items(a, p, #n);));
                }
                if let Some(n) = node.max_items {
                    body.extend(quote!(e.max_items(a, p, #n);));
                }
                if let Some(items) = &node.items {
                    let inner = self.check(items)?;
                    body.extend(quote! {
                        for (i, v) in a.iter().enumerate() { p.index(i); #inner p.pop(); }
                    });
                }
                if let Some(key) = &node.x_unique_by {
                    body.extend(quote!(e.unique_by(a, p, #key);));
                }
                quote!(if let Some(a) = e.array(v, p) { #body })
            }
            Some(JsonType::String) if node.enum_values.is_some() => {
                let values = node.enum_values.as_deref().unwrap_or_default();
                quote!(e.string_enum(v, p, &[#(#values),*]);)
            }
            Some(JsonType::String) => {
                let mut body = TokenStream::new();
                if let Some(c) = &node.constant {
                    body.extend(quote!(e.constant(v, p, #c);));
                }
                if let Some(n) = node.min_length {
                    body.extend(quote!(e.min_length(s, p, #n);));
                }
                if let Some(n) = node.max_length {
                    body.extend(quote!(e.max_length(s, p, #n);));
                }
                let message = node.x_message.clone();
                let duration = duration_check(node);
                let pattern = match &node.pattern {
                    Some(pattern) => {
                        let re = self.regex(pattern);
                        let m = message
                            .clone()
                            .unwrap_or_else(|| format!("must match the pattern {pattern}"));
                        if duration.is_empty() {
                            quote!(e.pattern(s, p, &#re, #m, #show);)
                        } else {
                            // Only text of the right shape is read as a duration.
                            quote!(if e.pattern(s, p, &#re, #m, #show) { #duration })
                        }
                    }
                    None => duration,
                };
                let shape = if node.format_uri {
                    // A malformed URI is reported once, not again by its pattern.
                    let m = message.unwrap_or_else(|| "must be an absolute URI".into());
                    quote!(if e.uri(s, p, #m, #show) { #pattern })
                } else {
                    pattern
                };
                // One error per value: the shape is checked only when the length is right.
                if !shape.is_empty() {
                    body = if body.is_empty() {
                        shape
                    } else {
                        quote!(let before = e.mark(); #body if e.mark() == before { #shape })
                    };
                }
                quote!(if let Some(s) = e.string(v, p) { #body })
            }
            Some(JsonType::Integer) => {
                let mut body = TokenStream::new();
                if let Some(m) = node.minimum {
                    body.extend(quote!(e.minimum(n, p, #m);));
                }
                if let Some(m) = node.maximum {
                    body.extend(quote!(e.maximum(n, p, #m);));
                }
                quote!(if let Some(n) = e.integer(v, p) { #body })
            }
            Some(JsonType::Boolean) => quote!(e.boolean(v, p);),
            None => match &node.constant {
                Some(c) => quote!(e.constant(v, p, #c);),
                None => return Err(Error::at(&node.at, "the schema has no type")),
            },
        })
    }

    fn check_object(&mut self, node: &Node) -> Result<TokenStream, Error> {
        let mut body = TokenStream::new();
        let known: Vec<&str> = node.properties.iter().map(|(k, _)| k.as_str()).collect();
        if matches!(node.additional, Additional::Forbidden) {
            body.extend(quote!(e.unknown_keys(o, p, &[#(#known),*]);));
        }
        if !node.required.is_empty() {
            let req = &node.required;
            body.extend(quote!(e.required(o, p, &[#(#req),*]);));
        }
        for group in &node.exclusive {
            body.extend(quote!(e.exclusive(o, p, &[#(#group),*]);));
        }
        for (key, prop) in &node.properties {
            let inner = self.check(prop)?;
            body.extend(quote! {
                if let Some(v) = o.get(#key) { p.key(#key); #inner p.pop(); }
            });
        }
        if let Some(names) = &node.property_names {
            let pattern = names.pattern.as_deref().unwrap_or_default();
            let re = self.regex(pattern);
            let m = names
                .x_message
                .clone()
                .unwrap_or_else(|| format!("does not match the pattern {pattern}"));
            let hint = match &names.x_hint {
                Some(h) => quote!(::std::option::Option::Some(#h)),
                None => quote!(::std::option::Option::None),
            };
            body.extend(quote! {
                for k in o.keys() { e.key_pattern(k, p, &#re, #m, #hint); }
            });
        }
        if let Additional::Schema(extra) = &node.additional {
            let inner = self.check(extra)?;
            let skip = if known.is_empty() {
                TokenStream::new()
            } else {
                quote!(if [#(#known),*].contains(&k.as_str()) { continue; })
            };
            body.extend(quote! {
                for (k, v) in o { #skip p.key(k); #inner p.pop(); }
            });
        }
        Ok(quote!(if let Some(o) = e.object(v, p) { #body }))
    }

    fn check_one_of(&mut self, node: &Node) -> Result<TokenStream, Error> {
        let tag = discriminator(self.schema, node)?;
        let mut values = Vec::new();
        let mut arms = Vec::new();
        let mut key_lists = Vec::new();
        for (r, target, value) in tagged_variants(self.schema, node, &tag)? {
            let f = def_fn(r);
            arms.push(quote!(::std::option::Option::Some(#value) => #f(v, p, e),));
            let keys: Vec<&str> = target
                .properties
                .iter()
                .map(|(k, _)| k.as_str())
                .filter(|k| *k != tag)
                .collect();
            key_lists.push(quote!(&[#(#keys),*]));
            values.push(value);
        }
        Ok(quote! {
            if let Some(o) = e.object(v, p) {
                match o.get(#tag) {
                    ::std::option::Option::None => e.missing_tag(o, p, #tag, &[#(#values),*], &[#(#key_lists),*]),
                    ::std::option::Option::Some(t) => match t.as_str() {
                        #(#arms)*
                        _ => { p.key(#tag); e.bad_tag(t, p, &[#(#values),*]); p.pop(); }
                    },
                }
            }
        })
    }
}

/// For an `x-type: duration` string: it must be a duration that fits, and no
/// longer than its `x-max-duration` (passed with its text, for the message).
fn duration_check(node: &Node) -> TokenStream {
    if node.x_type != Some(XType::Duration) {
        return TokenStream::new();
    }
    let max = match &node.x_max_duration {
        Some(m) => {
            let (secs, nanos, text) = (m.value.as_secs(), m.value.subsec_nanos(), &m.text);
            quote!(::std::option::Option::Some((::std::time::Duration::new(#secs, #nanos), #text)))
        }
        None => quote!(::std::option::Option::None),
    };
    quote!(e.duration(s, p, #max);)
}
