//! Compile-fail tests of `config_types!`: a schema the generator cannot
//! honour fully stops the build with an error that names the problem.

#[test]
fn schemas_the_generator_cannot_honour_fail_to_compile() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
