mcpmux_macros::config_types!(
    schema_json = r##"
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "port": { "type": "integer", "minimum": 0, "maximum": 65535, "default": 70000 }
  }
}
"##,
    support = crate::support
);
fn main() {}
