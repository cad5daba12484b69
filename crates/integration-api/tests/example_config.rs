//! The example configuration's commented provider tables are real: uncommented, they build
//! the adapters, and they list the layout and field-mapping settings.

use std::collections::BTreeMap;
use std::path::Path;

use integration_api::Config;

const EXAMPLE: &str = include_str!("../integration-api.example.toml");

/// The example with its commented `[providers.*]` tables and their settings uncommented.
fn uncommented() -> String {
    let mut out = String::new();
    let mut in_provider = false;
    for line in EXAMPLE.lines() {
        if let Some(rest) = line.strip_prefix("# [providers.") {
            in_provider = true;
            out.push_str(&format!("[providers.{rest}\n"));
            continue;
        }
        let setting = line
            .strip_prefix("# ")
            .filter(|l| in_provider && l.contains(" = ") && !l.starts_with(' '));
        match setting {
            Some(setting) => out.push_str(setting),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[test]
fn the_commented_provider_tables_build_their_adapters() {
    let text = uncommented();
    assert!(text.contains("[providers.decap]") && text.contains("[providers.contentful]"));
    let env = BTreeMap::from(
        [
            ("SHOPIFY_WEBHOOK_SECRET", "s"),
            ("DECAP_WEBHOOK_SECRET", "s"),
            (
                "CONTENTFUL_SIGNING_SECRET",
                "qlfkupAwYA4ZkNnmBzmNypFqSRWOwhpGRFwQFn5iPNAGHSYdvwed1C77n0Eiaz19",
            ),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let config = Config::from_toml(&text, Path::new("integration-api.example.toml"), env).unwrap();
    let registry = config.registry().unwrap();
    for name in ["shopify", "decap", "contentful"] {
        assert!(registry.get(name).is_some(), "{name}");
    }
    for setting in [
        "content_dir",
        "content_types",
        "default_content_type",
        "field_map",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("{setting} = "))),
            "{setting}"
        );
    }
}
