mcpmux_macros::config_types!(schema = "tests/ui/no_such_schema.json", support = crate::support);
fn main() {}
