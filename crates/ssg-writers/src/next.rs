//! Next.js 16 app router: an index `<plural>.json` of summaries per content type, one JSON file
//! per entry under `<plural>/`, and a generated typed `index.ts` with the model's types and
//! `getAll<Type>s()` / `get<Type>BySlug()` / `get<Type>ByProviderId()` helpers for server
//! components and `generateStaticParams`, plus the money and date helpers. The helpers read the
//! files with `node:fs` rather than importing them, so the bundler compiles none of them.

use unified_content::ContentType;

use crate::{Engine, EntryFile};

/// The Next.js writer.
#[derive(Debug, Clone, Copy)]
pub struct Next;

/// The fields of an item kept in its type's index file: what a listing page shows or sorts by
/// (dates, featured image, price, tags) without reading every entry file.
pub const SUMMARY_FIELDS: &[&str] = &[
    "id",
    "slug",
    "title",
    "content_type",
    "status",
    "description",
    "featured_image",
    "price",
    "tags",
    "created_at",
    "updated_at",
];

const ENTRY: EntryFile = EntryFile {
    template: "next/entry.json",
    extension: "json",
};

const TEMPLATES: &[(&str, &str)] = &[
    (
        "next/entry.json",
        include_str!("../templates/next/entry.json"),
    ),
    (
        "next/list-item.json",
        include_str!("../templates/next/list-item.json"),
    ),
    ("next/index.ts", include_str!("../templates/next/index.ts")),
    crate::templates::FORMAT,
];

impl Engine for Next {
    fn name(&self) -> &'static str {
        "next"
    }

    fn default_out(&self) -> &'static str {
        "content/fetched"
    }

    fn entry_file(&self, _: ContentType, _: bool) -> Option<EntryFile> {
        Some(ENTRY)
    }

    fn list_item_template(&self) -> Option<&'static str> {
        Some("next/list-item.json")
    }

    fn modules(&self) -> &'static [(&'static str, &'static str)] {
        &[("next/index.ts", "index.ts")]
    }

    fn supports_markdown(&self) -> bool {
        // The generated helpers read entries as JSON; Markdown would need an MDX setup that
        // is the site's choice, so it stays a `--template-dir` matter.
        false
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        TEMPLATES
    }
}
