mcpmux_macros::config_types!(
    schema_json = r##"
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "mode": { "type": "string", "if": { "const": "a" }, "then": { "minLength": 2 } }
  }
}
"##,
    support = crate::support
);
fn main() {}
