//! mcpmux's code generator, a plain library shared by the proc macro and
//! build.rs: it reads the configuration's JSON Schema and emits the typed
//! configuration (structs, enums, defaults) and its validator as a
//! `TokenStream`, or as formatted Rust source.

mod emit_types;
mod emit_validate;
pub mod model;
pub mod schema;

use proc_macro2::TokenStream;
use quote::quote;

pub use schema::{SUPPORTED, Schema};

/// Why the schema could not be turned into code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the schema is not valid JSON: {0}")]
    Json(String),
    #[error("unsupported JSON Schema keyword `{keyword}` at {at}; the generator handles only: {}", SUPPORTED.join(", "))]
    Unsupported { keyword: String, at: String },
    #[error("{message} (at {at})")]
    Schema { at: String, message: String },
}

impl Error {
    pub(crate) fn at(at: &str, message: impl Into<String>) -> Error {
        Error::Schema {
            at: if at.is_empty() {
                "the root".into()
            } else {
                at.to_string()
            },
            message: message.into(),
        }
    }
}

/// What the generated code needs to know about where it lands.
pub struct Options {
    /// Path of the runtime the generated code calls (`Secret`, `duration`,
    /// `Errors`, ...): the `mcpmux-config-support` crate, or a re-export of it
    /// such as `crate::config::support`.
    pub support: TokenStream,
    /// The file the schema came from: `SCHEMA` is then `include_str!` of it
    /// (absolute, so the crate is rebuilt when the schema changes); `None`
    /// embeds the text itself.
    pub schema_path: Option<String>,
}

/// The typed configuration and its validator, generated from `schema_text`.
pub fn generate(schema_text: &str, options: &Options) -> Result<TokenStream, Error> {
    let schema = Schema::parse(schema_text)?;
    let model = model::Model::build(&schema)?;
    let types = emit_types::TypeEmitter {
        schema: &schema,
        model: &model,
        support: &options.support,
    }
    .emit()?;
    let validate = emit_validate::ValidateEmitter::new(&schema, &options.support).emit()?;
    let root = emit_types::type_ident(&model.root);
    let support = &options.support;
    let schema_const = match &options.schema_path {
        Some(path) => quote!(include_str!(#path)),
        None => quote!(#schema_text),
    };
    Ok(quote! {
        #types
        impl #root {
            /// The JSON Schema these types were generated from.
            pub const SCHEMA: &'static str = #schema_const;

            /// Every violation of the schema in `value`, each with its JSON pointer.
            pub fn validate(value: &::serde_json::Value) -> ::std::vec::Vec<#support::ValidationError> {
                let mut errors = #support::Errors::default();
                __validate::validate_root(value, &mut #support::Path::default(), &mut errors);
                errors.into_vec()
            }

            /// Validates `value`, then builds the typed configuration from it
            /// (an integer written with a zero fraction, such as YAML's `1.0`,
            /// is the integer, as JSON Schema counts it).
            pub fn from_value(mut value: ::serde_json::Value) -> ::std::result::Result<Self, ::std::vec::Vec<#support::ValidationError>> {
                let errors = Self::validate(&value);
                if !errors.is_empty() {
                    return ::std::result::Result::Err(errors);
                }
                #support::integral_numbers(&mut value);
                ::serde_json::from_value(value).map_err(|e| ::std::vec::Vec::from([#support::ValidationError::internal(e)]))
            }
        }
        #validate
    })
}

/// Formats generated tokens as Rust source (for golden files and build.rs output).
pub fn format(tokens: &TokenStream) -> Result<String, syn::Error> {
    let file: syn::File = syn::parse2(tokens.clone())?;
    Ok(prettyplease::unparse(&file))
}
