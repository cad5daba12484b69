//! Astro (current major): one JSON file per entry in a folder per content type, plus a
//! generated `collections.ts` with a `defineCollection` per type (zod schema generated from the
//! model) that the site's `src/content.config.ts` re-exports:
//!
//! ```ts
//! export { collections } from "./content/fetched/collections";
//! ```
//!
//! Articles and pages go through a small loader that stores each body rendered, so
//! `render(entry)` works on JSON entries as on Markdown ones, and `entry.data.body` keeps the
//! text in both layouts. `index.ts` adds `getByProviderId` and the money and date helpers.

use unified_content::ContentType;

use crate::{Engine, EntryFile, MARKDOWN_ENTRY, is_prose};

/// The Astro writer.
#[derive(Debug, Clone, Copy)]
pub struct Astro;

const ENTRY: EntryFile = EntryFile {
    template: "astro/entry.json",
    extension: "json",
};

const TEMPLATES: &[(&str, &str)] = &[
    (
        "astro/entry.json",
        include_str!("../templates/astro/entry.json"),
    ),
    (
        "astro/collections.ts",
        include_str!("../templates/astro/collections.ts"),
    ),
    (
        "astro/index.ts",
        include_str!("../templates/astro/index.ts"),
    ),
    crate::templates::FORMAT,
];

impl Engine for Astro {
    fn name(&self) -> &'static str {
        "astro"
    }

    fn default_out(&self) -> &'static str {
        "src/content/fetched"
    }

    fn entry_file(&self, content_type: ContentType, markdown: bool) -> Option<EntryFile> {
        Some(if markdown && is_prose(content_type) {
            MARKDOWN_ENTRY
        } else {
            ENTRY
        })
    }

    fn list_item_template(&self) -> Option<&'static str> {
        None
    }

    fn modules(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("astro/collections.ts", "collections.ts"),
            ("astro/index.ts", "index.ts"),
        ]
    }

    fn supports_markdown(&self) -> bool {
        true
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        TEMPLATES
    }
}
