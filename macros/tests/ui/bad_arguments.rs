mcpmux_macros::config_types!(schema = "schema/mcpmux.schema.json", suport = crate::support);
fn main() {}
