mcpmux_macros::config_types!(
    schema_json = r##"
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": { "name": { "type": "string" } }
}
"##,
    support = crate::support
);
fn main() {}
