//! The proc-macro shim over `mcpmux-codegen`: `config_types!` reads the
//! configuration's JSON Schema at compile time, relative to the invoking
//! crate, and expands to the generated types and validator; generator errors
//! become `compile_error!` at the macro call.

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Path, Token};

/// `config_types!(schema = "schema/mcpmux.schema.json", support = crate::config::support);`
/// or, with the schema inline, `config_types!(schema_json = r#"{...}"#, support = ...)`.
struct Input {
    schema: Source,
    support: Path,
}

enum Source {
    /// A file, relative to the invoking crate's `Cargo.toml`.
    File(LitStr),
    /// The schema text itself.
    Inline(LitStr),
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut schema = None;
        let mut support = None;
        while !input.is_empty() {
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            match key.to_string().as_str() {
                "schema" => schema = Some(Source::File(input.parse::<LitStr>()?)),
                "schema_json" => schema = Some(Source::Inline(input.parse::<LitStr>()?)),
                "support" => support = Some(input.parse::<Path>()?),
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown argument `{other}`; expected `schema = \"file\"` (or `schema_json = \"...\"`) and `support = path`"
                        ),
                    ));
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        let missing = |what: &str| syn::Error::new(Span::call_site(), format!("missing `{what}`"));
        Ok(Input {
            schema: schema.ok_or_else(|| missing("schema = \"path/to/schema.json\""))?,
            support: support.ok_or_else(|| missing("support = path::to::support"))?,
        })
    }
}

/// Generates the typed configuration and its validator from a JSON Schema file
/// (path relative to the invoking crate's `Cargo.toml`).
#[proc_macro]
pub fn config_types(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as Input);
    expand(&input).unwrap_or_else(|e| e.to_compile_error()).into()
}

fn expand(input: &Input) -> syn::Result<proc_macro2::TokenStream> {
    let (text, schema_path, lit) = match &input.schema {
        Source::Inline(lit) => (lit.value(), None, lit),
        Source::File(lit) => {
            let dir = std::env::var("CARGO_MANIFEST_DIR")
                .map_err(|_| syn::Error::new(lit.span(), "CARGO_MANIFEST_DIR is not set"))?;
            let path = std::path::Path::new(&dir).join(lit.value());
            let text = std::fs::read_to_string(&path)
                .map_err(|e| syn::Error::new(lit.span(), format!("cannot read schema {}: {e}", lit.value())))?;
            (text, Some(path.display().to_string()), lit)
        }
    };
    let support = &input.support;
    let options = mcpmux_codegen::Options {
        support: quote!(#support),
        schema_path,
    };
    mcpmux_codegen::generate(&text, &options).map_err(|e| syn::Error::new(lit.span(), e.to_string()))
}
