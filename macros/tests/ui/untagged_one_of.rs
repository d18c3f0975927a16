mcpmux_macros::config_types!(
    schema_json = r##"
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": { "auth": { "$ref": "#/$defs/auth" } },
  "$defs": {
    "auth": { "oneOf": [ { "$ref": "#/$defs/a" }, { "$ref": "#/$defs/b" } ] },
    "a": { "type": "object", "additionalProperties": false, "properties": { "token": { "type": "string" } } },
    "b": { "type": "object", "additionalProperties": false, "properties": { "header": { "type": "string" } } }
  }
}
"##,
    support = crate::support
);
fn main() {}
