//! The JSON Schema is the source of every typed output: its changes must be visible.

#[test]
fn json_schema_snapshot() {
    insta::assert_json_snapshot!("unified_content_schema", unified_content::json_schema());
}
