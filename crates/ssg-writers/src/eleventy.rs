//! Eleventy 3: one JSON array per content type in a global data folder.
//!
//! `_data/fetched/products.json` becomes `fetched.products` in every template, ready for
//! Eleventy's pagination. (`content` would be the obvious name, but Eleventy 3 reserves it
//! for a template's own content and refuses data under it.)
//!
//! `filters.mjs` holds the money, date and lookup filters (`formatPrice`, `formatDate`,
//! `newest`, `byProviderId`) that the site registers in `eleventy.config.js`.

use unified_content::ContentType;

use crate::{Engine, EntryFile};

/// The Eleventy 3 writer.
#[derive(Debug, Clone, Copy)]
pub struct Eleventy;

const TEMPLATES: &[(&str, &str)] = &[
    (
        "eleventy/list-item.json",
        include_str!("../templates/eleventy/list-item.json"),
    ),
    (
        "eleventy/filters.mjs",
        include_str!("../templates/eleventy/filters.mjs"),
    ),
    crate::templates::FORMAT,
];

impl Engine for Eleventy {
    fn name(&self) -> &'static str {
        "eleventy"
    }

    fn default_out(&self) -> &'static str {
        "_data/fetched"
    }

    fn entry_file(&self, _: ContentType, _: bool) -> Option<EntryFile> {
        None
    }

    fn list_item_template(&self) -> Option<&'static str> {
        Some("eleventy/list-item.json")
    }

    fn modules(&self) -> &'static [(&'static str, &'static str)] {
        &[("eleventy/filters.mjs", "filters.mjs")]
    }

    fn supports_markdown(&self) -> bool {
        // Eleventy reads Markdown pages from its input folder, not from `_data`; sites that
        // want them add a `--template-dir` template and an Eleventy pagination template.
        false
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        TEMPLATES
    }
}
