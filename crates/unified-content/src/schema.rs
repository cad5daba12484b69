//! The JSON Schema of the model: the one source of the TypeScript and Zod outputs.

use crate::model::UnifiedContent;

/// The version of the model's shape. Snapshots and generated files record it; it changes
/// whenever a field is added, removed or changes meaning.
pub const SCHEMA_VERSION: u32 = 1;

/// The JSON Schema (draft 2020-12) of [`UnifiedContent`], with its parts under `$defs`.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(UnifiedContent))
        .expect("a JSON Schema always serializes")
}
