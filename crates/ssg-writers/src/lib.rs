//! Engine writers that turn unified content into the data files of static site generators.
//!
//! One module per engine ([`eleventy`], [`astro`], [`next`]) describes its layout behind the
//! small [`Engine`] trait; [`ENGINES`] lists them. A [`SyncRun`] streams items page by page,
//! renders them with minijinja templates embedded in this crate (or overridden from a template
//! folder), stages the files that changed beside the output folder and applies them through a
//! journal, so a run that fails leaves the previous output untouched and a killed one is
//! finished by the next.
//!
//! A run writes only into an output folder that is empty, missing or its own, removes only
//! files earlier runs wrote, and holds the folder's lock. Its lock, state, index and item
//! segments live in a state folder outside the output folder ([`state_dir`]), which no engine
//! loads; incremental runs read, render and write only what changed. The repository's
//! `docs/output-state.md` describes the layout.
//! Typed outputs (zod schemas, TypeScript types) are generated from
//! [`unified_content::json_schema`], so a model change flows into every output.
#![deny(missing_docs)]

pub mod astro;
mod deltas;
pub mod eleventy;
mod error;
mod files;
mod index;
mod journal;
mod keys;
mod manifest;
mod merge;
mod naming;
pub mod next;
mod paths;
mod render;
mod state;
mod sync;
mod templates;
mod typegen;

use unified_content::ContentType;

pub use error::WriteError;
pub use naming::{Names, collection_name, names};
pub use state::state_dir;
pub use sync::{Mode, RunReport, SyncRun, WriteOptions};
pub use typegen::{typescript_declarations, zod_schemas};

/// How one engine lays out its files. The writer owns file names and paths; templates only
/// decide the bytes inside each file.
pub trait Engine: Sync {
    /// The name used on the command line, such as `astro`.
    fn name(&self) -> &'static str;

    /// The output folder, relative to the site's root, that follows the engine's conventions.
    fn default_out(&self) -> &'static str;

    /// The template and file extension of one file per entry of `content_type`, if the engine
    /// writes such files. `markdown` asks for the Markdown-with-front-matter layout of articles
    /// and pages.
    fn entry_file(&self, content_type: ContentType, markdown: bool) -> Option<EntryFile>;

    /// The template that renders one item into the JSON array `<plural>.json`, if the engine
    /// writes one array per content type.
    fn list_item_template(&self) -> Option<&'static str>;

    /// Files rendered once per run from the generated types: (template, file name).
    fn modules(&self) -> &'static [(&'static str, &'static str)];

    /// Whether the engine can write the Markdown layout.
    fn supports_markdown(&self) -> bool;

    /// The templates embedded for this engine: (name, source).
    fn templates(&self) -> &'static [(&'static str, &'static str)];
}

/// One file per entry: which template renders it and which extension it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryFile {
    /// The template's name, such as `astro/entry.json`.
    pub template: &'static str,
    /// The file extension, without the dot.
    pub extension: &'static str,
}

/// The Markdown with front matter template for articles and pages, opt-in for every engine
/// that writes one file per entry.
pub const MARKDOWN_ENTRY: EntryFile = EntryFile {
    template: "markdown/entry.md",
    extension: "md",
};

const MARKDOWN_TEMPLATES: &[(&str, &str)] = &[(
    "markdown/entry.md",
    include_str!("../templates/markdown/entry.md"),
)];

/// Every engine, one line each.
pub static ENGINES: &[&dyn Engine] = &[&eleventy::Eleventy, &astro::Astro, &next::Next];

/// The engine called `name`.
pub fn engine(name: &str) -> Result<&'static dyn Engine, WriteError> {
    ENGINES
        .iter()
        .copied()
        .find(|e| e.name() == name)
        .ok_or_else(|| WriteError::UnknownEngine {
            name: name.to_string(),
            known: engine_names().join(", "),
        })
}

/// The names of every engine, in registry order.
pub fn engine_names() -> Vec<&'static str> {
    ENGINES.iter().map(|e| e.name()).collect()
}

/// Whether a content type is written as Markdown under the opt-in Markdown layout.
fn is_prose(content_type: ContentType) -> bool {
    matches!(content_type, ContentType::Article | ContentType::Page)
}
