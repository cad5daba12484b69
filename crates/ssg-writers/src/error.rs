//! Errors of the engine writers.

use std::io;
use std::path::PathBuf;

/// Why writing an engine's files failed. The previous output is untouched in every case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// No engine has this name.
    #[error("unknown engine '{name}'; use one of: {known}")]
    UnknownEngine {
        /// The name asked for.
        name: String,
        /// The names that exist.
        known: String,
    },
    /// The engine has no Markdown layout.
    #[error(
        "engine '{engine}' has no built-in Markdown layout; write JSON, or add a Markdown template of your own"
    )]
    MarkdownUnsupported {
        /// The engine.
        engine: &'static str,
    },
    /// The output folder cannot be used.
    #[error("output folder {path}: {reason}; choose another folder")]
    OutputFolder {
        /// The folder.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A file or folder could not be read or written.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done, such as `write`.
        action: &'static str,
        /// The file or folder involved.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A template folder holds a template that does not parse.
    #[error(
        "template {path} does not parse: {source}; fix it or remove it from the template folder"
    )]
    TemplateSyntax {
        /// The template file.
        path: PathBuf,
        /// The cause, with line and column.
        #[source]
        source: minijinja::Error,
    },
    /// A template failed to render.
    #[error("template '{template}' failed to render{}: {source:#}", item_id.as_ref().map(|id| format!(" item '{id}'")).unwrap_or_default())]
    Render {
        /// The template's name.
        template: String,
        /// The item being rendered, if any.
        item_id: Option<String>,
        /// The cause, naming the undefined value or failing filter.
        #[source]
        source: minijinja::Error,
    },
    /// Two items of one type have the same slug and the run is strict.
    #[error(
        "items '{first_id}' and '{second_id}' of type {content_type} both have the slug '{slug}'; give one a different slug at the provider, or run without strict checks to write the second with a suffix"
    )]
    DuplicateSlug {
        /// The content type.
        content_type: &'static str,
        /// The shared slug.
        slug: String,
        /// The item that keeps the slug.
        first_id: String,
        /// The item that would need a suffix.
        second_id: String,
    },
    /// An item's slug is not `^[a-z0-9-]+$` and the run is strict.
    #[error(
        "item '{item_id}' has the slug {slug:?}, which is not lowercase letters, digits and hyphens; fix it at the provider, or run without strict checks to write it as '{safe}'"
    )]
    UnsafeSlug {
        /// The item.
        item_id: String,
        /// The slug as received.
        slug: String,
        /// The slug it would be written under.
        safe: String,
    },
    /// The model's JSON Schema uses a construct the type generator does not handle.
    #[error(
        "cannot generate types for the model's JSON Schema at {pointer}: {message}; teach ssg-writers' type generator this construct"
    )]
    Schema {
        /// A JSON pointer into the schema.
        pointer: String,
        /// What is not handled.
        message: String,
    },
    /// The state or item cache of a previous run is unreadable.
    #[error("the previous run's state {path} is unreadable ({message}); run a full sync")]
    State {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The output folder holds files content-fetch did not write, and no earlier run claimed
    /// it. Nothing was changed.
    #[error(
        "output folder {path} holds {entries} files or folders that content-fetch did not write; it writes only into an empty folder or one it wrote before, so give it a folder of its own inside, or have it move these aside"
    )]
    ForeignOutput {
        /// The folder.
        path: PathBuf,
        /// How many entries it holds.
        entries: usize,
    },
    /// A file in the output folder that content-fetch did not write is where a file of the
    /// output would go. Nothing was changed.
    #[error(
        "{path} is in the way of a file content-fetch writes, and content-fetch did not write it; move it out of the output folder"
    )]
    ForeignFile {
        /// The file.
        path: PathBuf,
    },
    /// Another run holds the output folder's lock.
    #[error("another content-fetch run{} holds {path}", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Locked {
        /// The output folder.
        path: PathBuf,
        /// The process holding the lock, when it could be read.
        pid: Option<u32>,
    },
}

impl From<spill_sort::SortError> for WriteError {
    fn from(e: spill_sort::SortError) -> Self {
        let (action, path, source) = e.into_parts();
        WriteError::io(action, path, source)
    }
}

impl WriteError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        WriteError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
