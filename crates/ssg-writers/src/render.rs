//! Rendering: every item of the output, in order, through the engine's templates, plus the
//! files generated once per run.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use minijinja::value::{Serde, Value as Ctx};
use unified_content::{ContentType, SCHEMA_VERSION, Timestamp, make_js_safe};

use crate::files::Files;
use crate::index::{IndexWriter, segment_name};
use crate::keys::{Key, Source, Written};
use crate::merge::Placements;
use crate::naming::{collection_name, names};
use crate::paths::{join_inside, suffixed_slug};
use crate::templates::Templates;
use crate::{Engine, RunReport, WriteError, WriteOptions, typegen};

/// What the render loop reads: the run's settings and where items' lines are.
pub(crate) struct Inputs<'a> {
    pub(crate) engine: &'static dyn Engine,
    pub(crate) options: &'a WriteOptions,
    pub(crate) templates: &'a Templates,
    /// Whether the previous run rendered with the same templates and layout, so that its
    /// unchanged files can stay without rendering.
    pub(crate) same_templates: bool,
    /// This run's items, in arrival order: the segment file it leaves.
    pub(crate) spool: PathBuf,
    /// The number of that segment.
    pub(crate) segment: u32,
    /// The state folder, holding the previous runs' segments.
    pub(crate) state_dir: PathBuf,
    /// The previous run's newest `synced_at`.
    pub(crate) synced_until: Option<Timestamp>,
}

/// The render loop of one commit.
pub(crate) struct Writer<'a> {
    inputs: Inputs<'a>,
    pub(crate) report: &'a mut RunReport,
    files: Files,
    spool: File,
    segments: HashMap<u32, File>,
    /// The segments the new index refers to.
    referenced: BTreeSet<u32>,
}

/// How one type's list file is written.
enum List {
    /// Nothing of the type changed: the file stays.
    Kept,
    /// Rendered, with the unchanged items' fragments copied from the previous file.
    Spliced {
        rel: String,
        file: BufWriter<File>,
        empty: bool,
        previous: File,
    },
    /// Every item rendered.
    Rendered {
        rel: String,
        file: BufWriter<File>,
        empty: bool,
    },
}

impl<'a> Writer<'a> {
    pub(crate) fn new(
        inputs: Inputs<'a>,
        report: &'a mut RunReport,
        files: Files,
    ) -> Result<Writer<'a>, WriteError> {
        let spool =
            File::open(&inputs.spool).map_err(|e| WriteError::io("read", &inputs.spool, e))?;
        Ok(Writer {
            inputs,
            report,
            files,
            spool,
            segments: HashMap::new(),
            referenced: BTreeSet::new(),
        })
    }

    fn read_item(&mut self, key: &Key) -> Result<(Vec<u8>, PathBuf), WriteError> {
        let (file, path) = match key.source {
            Source::Spool => (&mut self.spool, self.inputs.spool.clone()),
            Source::Cache => {
                let path = self.inputs.state_dir.join(segment_name(key.segment));
                let file = match self.segments.entry(key.segment) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(e) => {
                        e.insert(File::open(&path).map_err(|e| WriteError::io("read", &path, e))?)
                    }
                };
                (file, path)
            }
        };
        let mut buf = vec![0; key.len as usize];
        file.seek(SeekFrom::Start(key.offset))
            .and_then(|_| file.read_exact(&mut buf))
            .map_err(|e| WriteError::io("read", &path, e))?;
        Ok((buf, path))
    }

    /// Renders what changed of every item in output order, keeps the rest, and writes the
    /// index at `index_path`; returns how many items and the newest `synced_at`.
    pub(crate) fn write_items(
        &mut self,
        placements: &mut Placements,
        index_path: &Path,
    ) -> Result<(usize, Option<Timestamp>), WriteError> {
        let engine = self.inputs.engine;
        let options = self.inputs.options;
        let templates = self.inputs.templates;
        let same_templates = self.inputs.same_templates;
        let mut index = IndexWriter::create(index_path)?;
        let list_template = engine.list_item_template();
        let mut lists: Vec<List> = Vec::new();
        if list_template.is_some() {
            for (rank, t) in ContentType::ALL.into_iter().enumerate() {
                let rel = format!("{}.json", collection_name(t));
                if same_templates && !placements.dirty[rank] && self.files.keep(&rel)? {
                    lists.push(List::Kept);
                    continue;
                }
                let mut file = self.files.create(&rel)?;
                file.write_all(b"[")
                    .map_err(|e| WriteError::io("write", &rel, e))?;
                let old = join_inside(self.files.out(), &rel);
                let previous = File::open(&old).ok().filter(|f| {
                    same_templates
                        && f.metadata()
                            .is_ok_and(|m| m.len() == placements.previous_list_len[rank])
                });
                lists.push(match previous {
                    Some(previous) => List::Spliced {
                        rel,
                        file,
                        empty: true,
                        previous,
                    },
                    None => List::Rendered {
                        rel,
                        file,
                        empty: true,
                    },
                });
            }
        }
        for t in ContentType::ALL {
            if engine.entry_file(t, options.markdown).is_some() {
                self.files.folder(collection_name(t))?;
            }
        }

        let mut synced_until = self.inputs.synced_until;
        let mut previous: Option<(ContentType, String, String)> = None;
        let mut count = 0;
        while let Some(mut key) = placements.next()? {
            count += 1;
            let (key_slug, key_id) = (key.slug().to_string(), key.id().to_string());
            let mut slug = key_slug.clone();
            let mut written = Written::Plain;
            match &previous {
                Some((t, s, first_id)) if *t == key.content_type && *s == key_slug => {
                    if options.strict {
                        return Err(WriteError::DuplicateSlug {
                            content_type: key.content_type.as_str(),
                            slug: key_slug,
                            first_id: first_id.clone(),
                            second_id: key_id,
                        });
                    }
                    slug = suffixed_slug(&key_slug, &key_id);
                    written = Written::Suffixed;
                    let warning = format!(
                        "items '{first_id}' and '{key_id}' of type {} share the slug '{key_slug}'; writing the second as '{slug}'",
                        key.content_type
                    );
                    tracing::warn!("{warning}");
                    self.report.warnings.push(warning);
                }
                _ => previous = Some((key.content_type, key_slug.clone(), key_id.clone())),
            }
            // An item of the previous run written under the same name by the same templates:
            // its files are what they were, so it is neither read nor rendered.
            let kept = key.source == Source::Cache && same_templates && key.written == written;
            let mut ctx = None;
            let mut fragment = key.fragment.1;

            if let Some(entry) = engine.entry_file(key.content_type, options.markdown) {
                let rel = format!(
                    "{}/{slug}.{}",
                    collection_name(key.content_type),
                    entry.extension
                );
                if !(kept && self.files.keep(&rel)?) {
                    let item = self.context(&key, &slug, &mut ctx, &mut synced_until)?;
                    let text = item.render(templates, entry.template, &key_id)?;
                    self.files.put(&rel, text.as_bytes())?;
                }
            }
            if let Some(template) = list_template {
                let rank = usize::from(crate::keys::type_rank(key.content_type));
                let copied = match &mut lists[rank] {
                    List::Spliced { previous, .. } if kept => {
                        let (offset, len) = key.fragment;
                        let mut bytes = vec![0; len as usize];
                        previous
                            .seek(SeekFrom::Start(offset))
                            .and_then(|_| previous.read_exact(&mut bytes))
                            .map_err(|e| {
                                WriteError::io("read", collection_name(key.content_type), e)
                            })?;
                        Some(bytes)
                    }
                    _ => None,
                };
                let text = match (&lists[rank], copied) {
                    (List::Kept, _) => None,
                    (_, Some(bytes)) => Some(bytes),
                    (_, None) => {
                        let item = self.context(&key, &slug, &mut ctx, &mut synced_until)?;
                        let text = item.render(templates, template, &key_id)?;
                        Some(text.trim_end().as_bytes().to_vec())
                    }
                };
                if let Some(text) = text {
                    if let List::Spliced {
                        rel, file, empty, ..
                    }
                    | List::Rendered { rel, file, empty } = &mut lists[rank]
                    {
                        let sep: &[u8] = if *empty { b"\n" } else { b",\n" };
                        *empty = false;
                        file.write_all(sep)
                            .and_then(|()| file.write_all(&text))
                            .map_err(|e| WriteError::io("write", &*rel, e))?;
                    }
                    fragment = u32::try_from(text.len()).unwrap_or(u32::MAX);
                }
            }
            if key.source == Source::Spool {
                key.segment = self.inputs.segment;
            }
            self.referenced.insert(key.segment);
            index.push(&key, written, fragment)?;
        }
        index.finish()?;
        for list in lists {
            if let List::Spliced {
                rel,
                mut file,
                empty,
                ..
            }
            | List::Rendered {
                rel,
                mut file,
                empty,
            } = list
            {
                let end: &[u8] = if empty { b"]\n" } else { b"\n]\n" };
                file.write_all(end)
                    .and_then(|()| file.flush())
                    .map_err(|e| WriteError::io("write", &rel, e))?;
                drop(file);
                self.files.settle(&rel)?;
            }
        }
        Ok((count, synced_until))
    }

    /// The template context of `key` written as `slug`, read and built once (in `ctx`) when a
    /// file of it is rendered.
    fn context<'c>(
        &mut self,
        key: &Key,
        slug: &str,
        ctx: &'c mut Option<ItemContext>,
        synced_until: &mut Option<Timestamp>,
    ) -> Result<&'c mut ItemContext, WriteError> {
        if ctx.is_none() {
            let (raw, path) = self.read_item(key)?;
            let mut value: serde_json::Value =
                serde_json::from_slice(&raw).map_err(|e| WriteError::State {
                    path,
                    message: format!("item '{}': {e}", key.id()),
                })?;
            if let Some(synced) = value
                .get("synced_at")
                .and_then(|v| serde_json::from_value::<Timestamp>(v.clone()).ok())
            {
                *synced_until = (*synced_until).max(Some(synced));
            }
            let received = value["slug"].as_str().unwrap_or_default();
            if key.source == Source::Spool && received != key.slug() {
                if self.inputs.options.strict {
                    return Err(WriteError::UnsafeSlug {
                        item_id: key.id().to_string(),
                        slug: received.to_string(),
                        safe: key.slug().to_string(),
                    });
                }
                let warning = format!(
                    "item '{}' has the slug {received:?}, which is not lowercase letters, digits and hyphens; writing it as '{}'",
                    key.id(),
                    key.slug()
                );
                tracing::warn!("{warning}");
                self.report.warnings.push(warning);
            }
            value["slug"] = serde_json::Value::String(slug.to_string());
            make_js_safe(&mut value);
            *ctx = Some(ItemContext {
                content_type: key.content_type,
                value,
                ctx: None,
            });
        }
        Ok(ctx.as_mut().expect("built above"))
    }

    /// The files decided so far, and the segments the index refers to.
    pub(crate) fn into_parts(self) -> (Files, BTreeSet<u32>) {
        (self.files, self.referenced)
    }

    /// Renders the files generated once per run from the model's types.
    pub(crate) fn write_modules(&mut self) -> Result<(), WriteError> {
        let (engine, options) = (self.inputs.engine, self.inputs.options);
        if engine.modules().is_empty() {
            return Ok(());
        }
        let types = typegen::generate(&unified_content::json_schema())?;
        let collections: Vec<Ctx> = ContentType::ALL
            .into_iter()
            .map(|t| {
                let extension = engine
                    .entry_file(t, options.markdown)
                    .map(|e| e.extension)
                    .unwrap_or("json");
                minijinja::context! {
                    name => t.as_str(),
                    plural => collection_name(t),
                    pascal => names(t).type_name,
                    pascal_plural => names(t).type_plural,
                    prose => crate::is_prose(t),
                    extension,
                }
            })
            .collect();
        let ctx = minijinja::context! {
            types => Ctx::from(Serde(&types)),
            collections,
            schema_version => SCHEMA_VERSION,
            summary_fields => Ctx::from(Serde(crate::next::SUMMARY_FIELDS)),
        };
        for (template, file) in engine.modules() {
            let text = self.inputs.templates.render(template, &ctx, None)?;
            self.files.put(file, text.as_bytes())?;
        }
        Ok(())
    }
}

/// One item as its templates see it: its JSON, made into a template context only for a
/// template that is more than [`Templates::plain_json`].
pub(crate) struct ItemContext {
    content_type: ContentType,
    value: serde_json::Value,
    ctx: Option<Ctx>,
}

impl ItemContext {
    /// Renders `template` for this item (`item_id`, for errors).
    fn render(
        &mut self,
        templates: &Templates,
        template: &str,
        item_id: &str,
    ) -> Result<String, WriteError> {
        if let Some(end) = templates.plain_json(template) {
            // The bytes of the `json` filter, without building the context's values.
            let mut text =
                serde_json::to_string_pretty(&self.value).expect("JSON values always serialize");
            text.push_str(end);
            return Ok(text);
        }
        let (content_type, value) = (self.content_type, &self.value);
        let ctx = self
            .ctx
            .get_or_insert_with(|| context(content_type, Ctx::from(Serde(value))));
        templates.render(template, ctx, Some(item_id))
    }
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
