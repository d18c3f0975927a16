//! The typed configuration, generated at compile time from
//! `schema/mcpmux.schema.json` by `mcpmux_macros::config_types!`: the structs,
//! enums, defaults and the validator. Nothing here is written by hand.

mcpmux_macros::config_types!(schema = "schema/mcpmux.schema.json", support = crate::config::support);
