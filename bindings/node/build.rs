//! Links the addon for Node, and writes from the unified model's JSON Schema, with the
//! generator the engine writers use: `model.d.ts`, its TypeScript types, and `model.zod.mjs`,
//! its zod schemas (zod as Astro ships it) for the Astro loader.

fn main() {
    napi_build::setup();
    generated("model.d.ts", ssg_writers::typescript_declarations());
    generated("model.zod.mjs", ssg_writers::zod_schemas("astro/zod"));
    println!("cargo::rerun-if-changed=build.rs");
}

/// Writes a generated file of the package, only when it changed, so that a build never
/// touches an up-to-date file.
fn generated(name: &str, made: Result<String, ssg_writers::WriteError>) {
    let body = made.unwrap_or_else(|e| panic!("cannot generate {name}: {e}"));
    let text = format!(
        "// Generated from the unified content model's JSON Schema by build.rs. Do not edit.\n{body}"
    );
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(&path, text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}
