//! One item's render on a worker thread: its line read, its template context built, its
//! files rendered (straight through serde_json where a template allows) and its entry file
//! staged.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use minijinja::value::{Serde, Value as Ctx};
use unified_content::{ContentType, SCHEMA_VERSION, Timestamp};

use crate::WriteError;
use crate::files::{Staged, Stager};
use crate::naming::collection_name;
use crate::templates::{Shortcut, Templates};

use super::json::Json;

/// One item to render, with its line.
pub(super) struct Job {
    pub(super) content_type: ContentType,
    pub(super) id: String,
    /// The safe slug it sorts under.
    pub(super) safe_slug: String,
    /// The slug its files are written under (the safe slug, or suffixed).
    pub(super) slug: String,
    /// Received in this run (rather than kept from an earlier one): its slug is checked.
    pub(super) received: bool,
    pub(super) line: Line,
    /// Its entry file and template, when the entry file is rendered.
    pub(super) entry: Option<(String, &'static str)>,
    pub(super) list: Option<&'static str>,
}

/// Where one item's line is.
pub(super) struct Line {
    /// Shared by every item of the file: it is read at an offset, never seeked.
    pub(super) file: Arc<File>,
    pub(super) path: PathBuf,
    pub(super) offset: u64,
    pub(super) len: u32,
}

/// What a worker rendered of one item.
#[derive(Default)]
pub(super) struct Rendered {
    /// The entry file, staged or found unchanged.
    pub(super) entry: Option<Staged>,
    /// The list fragment, without its trailing white space.
    pub(super) list: Option<Vec<u8>>,
    pub(super) synced: Option<Timestamp>,
    /// The received slug was not safe and was replaced.
    pub(super) warning: Option<String>,
}

impl Job {
    /// Reads the item's line, builds its template context, renders its files and stages its
    /// entry file.
    pub(super) fn render(
        self,
        templates: &Templates,
        stager: &Stager,
        strict: bool,
    ) -> Result<Rendered, WriteError> {
        let Line {
            file,
            path,
            offset,
            len,
        } = self.line;
        let mut raw = vec![0; len as usize];
        read_at(&file, &mut raw, offset).map_err(|e| WriteError::io("read", &path, e))?;
        let mut value = Json::parse(&raw).map_err(|e| WriteError::State {
            path,
            message: format!("item '{}': {e}", self.id),
        })?;
        // As `serde_json::from_value` read it: chrono's `Deserialize` takes only a string,
        // parsed by this same `FromStr`.
        let synced = value
            .get("synced_at")
            .and_then(Json::as_str)
            .and_then(|s| s.parse::<Timestamp>().ok());
        let received = value.get("slug").and_then(Json::as_str).unwrap_or_default();
        let mut warning = None;
        if self.received && received != self.safe_slug {
            if strict {
                return Err(WriteError::UnsafeSlug {
                    item_id: self.id,
                    slug: received.to_string(),
                    safe: self.safe_slug,
                });
            }
            warning = Some(format!(
                "item '{}' has the slug {received:?}, which is not lowercase letters, digits and hyphens; writing it as '{}'",
                self.id, self.safe_slug
            ));
        }
        value.set("slug", Json::Str(self.slug.into()));
        let mut item = ItemContext {
            content_type: self.content_type,
            value,
            ctx: None,
        };
        let entry = match &self.entry {
            Some((rel, template)) => {
                let text = item.render(templates, template, &self.id)?;
                Some(stager.stage(rel, text.as_bytes())?)
            }
            None => None,
        };
        let list = self
            .list
            .map(|t| {
                item.render(templates, t, &self.id)
                    .map(|text| text.trim_end().as_bytes().to_vec())
            })
            .transpose()?;
        Ok(Rendered {
            entry,
            list,
            synced,
            warning,
        })
    }
}

/// One item as its templates see it: its JSON, made into a template context only for a
/// template that [`Templates::shortcut`] cannot write directly.
pub(super) struct ItemContext<'a> {
    content_type: ContentType,
    value: Json<'a>,
    ctx: Option<Ctx>,
}

impl ItemContext<'_> {
    /// Renders `template` for this item (`item_id`, for errors).
    fn render(
        &mut self,
        templates: &Templates,
        template: &str,
        item_id: &str,
    ) -> Result<String, WriteError> {
        match templates.shortcut(template) {
            Some(Shortcut::Json(end)) => return Ok(pretty(&self.value, end)),
            Some(Shortcut::Summary(end)) => {
                // `pick`: the summary fields the item has, sorted by name as the filter's map.
                let picked: BTreeMap<&str, &Json> = crate::next::SUMMARY_FIELDS
                    .iter()
                    .filter_map(|name| Some((*name, self.value.get(name)?)))
                    .collect();
                return Ok(pretty(&picked, end));
            }
            None => {}
        }
        let (content_type, value) = (self.content_type, &self.value);
        let ctx = self
            .ctx
            .get_or_insert_with(|| context(content_type, Ctx::from(Serde(value))));
        templates.render(template, ctx, Some(item_id))
    }
}

/// Fills `buf` from `file` at `offset`, whatever other threads read of the same file.
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    return std::os::unix::fs::FileExt::read_exact_at(file, buf, offset);
    #[cfg(windows)]
    {
        // Each read names its offset, so a cursor moved by another thread does not matter.
        let mut done = 0;
        while done < buf.len() {
            let at = offset + done as u64;
            match std::os::windows::fs::FileExt::seek_read(file, &mut buf[done..], at)? {
                0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                n => done += n,
            }
        }
        Ok(())
    }
}

/// The bytes of the `json` filter for `value`, then `end`, without building template values.
fn pretty(value: &impl serde::Serialize, end: &str) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("JSON values always serialize");
    text.push_str(end);
    text
}

fn context(content_type: ContentType, item: Ctx) -> Ctx {
    minijinja::context! {
        item,
        content_type => minijinja::context! {
            name => content_type.as_str(),
            plural => collection_name(content_type),
        },
        schema_version => SCHEMA_VERSION,
        summary_fields => Ctx::from(Serde(crate::next::SUMMARY_FIELDS)),
    }
}
