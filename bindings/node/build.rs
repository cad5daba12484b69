//! Links the addon for Node, and writes `model.d.ts`, the TypeScript types of the unified
//! model, from its JSON Schema with the generator the engine writers use.

fn main() {
    napi_build::setup();
    let declarations = match ssg_writers::typescript_declarations() {
        Ok(d) => d,
        Err(e) => panic!("cannot generate model.d.ts: {e}"),
    };
    let text = format!(
        "// Generated from the unified content model's JSON Schema by build.rs. Do not edit.\n{declarations}"
    );
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("model.d.ts");
    // Written only when it changed, so a build never touches an up-to-date file.
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(&path, text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
    println!("cargo::rerun-if-changed=build.rs");
}
