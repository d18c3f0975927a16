mcpmux_macros::config_types!(
    schema_json = r##"
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": { "listen": { "$ref": "#/$defs/listne" } },
  "$defs": { "listen": { "type": "string" } }
}
"##,
    support = crate::support
);
fn main() {}
