//! Rendering: every item of the output, in order, through the engine's templates, plus the
//! files generated once per run.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use minijinja::value::{Serde, Value as Ctx};
use unified_content::{ContentType, SCHEMA_VERSION, Timestamp, make_js_safe};

use crate::external_sort::Sorted;
use crate::files::Files;
use crate::keys::{Key, Source, Written};
use crate::merge::undecodable;
use crate::paths::suffixed_slug;
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
    pub(crate) spool: PathBuf,
    pub(crate) cache: Option<PathBuf>,
    /// The run's scratch folder, named in errors about its own files.
    pub(crate) scratch: PathBuf,
}

/// The render loop of one commit.
pub(crate) struct Writer<'a> {
    inputs: Inputs<'a>,
    pub(crate) report: &'a mut RunReport,
    pub(crate) files: Files,
    spool: File,
    cache: Option<File>,
}

struct OpenList {
    rel: String,
    file: BufWriter<File>,
    empty: bool,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(
        inputs: Inputs<'a>,
        report: &'a mut RunReport,
        files: Files,
    ) -> Result<Writer<'a>, WriteError> {
        let open = |path: &Path| File::open(path).map_err(|e| WriteError::io("read", path, e));
        let spool = open(&inputs.spool)?;
        let cache = inputs.cache.as_deref().map(open).transpose()?;
        Ok(Writer {
            inputs,
            report,
            files,
            spool,
            cache,
        })
    }

    fn read_item(&mut self, key: &Key) -> Result<Vec<u8>, WriteError> {
        let (file, path) = match key.source {
            Source::Spool => (&mut self.spool, &self.inputs.spool),
            Source::Cache => (
                self.cache
                    .as_mut()
                    .expect("cached keys only exist with a cache"),
                self.inputs.cache.as_ref().expect("a cache file"),
            ),
        };
        let mut buf = vec![0; key.len as usize];
        file.seek(SeekFrom::Start(key.offset))
            .and_then(|_| file.read_exact(&mut buf))
            .map_err(|e| WriteError::io("read", path, e))?;
        Ok(buf)
    }

    /// Renders every item in sorted order and writes the item cache at `items_path`; returns
    /// how many items and the newest `synced_at`.
    pub(crate) fn write_items(
        &mut self,
        keys: &mut Sorted,
        items_path: &Path,
    ) -> Result<(usize, Option<Timestamp>), WriteError> {
        let engine = self.inputs.engine;
        let options = self.inputs.options;
        let templates = self.inputs.templates;
        let mut items_out = BufWriter::new(
            File::create(items_path).map_err(|e| WriteError::io("create", items_path, e))?,
        );
        let list_template = engine.list_item_template();
        let mut lists: Vec<OpenList> = Vec::new();
        if list_template.is_some() {
            for t in ContentType::ALL {
                let rel = format!("{}.json", t.plural());
                let mut file = self.files.create(&rel)?;
                file.write_all(b"[")
                    .map_err(|e| WriteError::io("write", &rel, e))?;
                lists.push(OpenList {
                    rel,
                    file,
                    empty: true,
                });
            }
        }
        for t in ContentType::ALL {
            if engine.entry_file(t, options.markdown).is_some() {
                self.files.folder(t.plural())?;
            }
        }

        let mut synced_until: Option<Timestamp> = None;
        let mut previous: Option<(ContentType, String, String)> = None;
        let mut count = 0;
        while let Some((sort_key, meta)) = keys.next()? {
            let key =
                Key::decode(&sort_key, &meta).ok_or_else(|| undecodable(&self.inputs.scratch))?;
            let key = &key;
            count += 1;
            let raw = self.read_item(key)?;
            let mut value: serde_json::Value =
                serde_json::from_slice(&raw).map_err(|e| WriteError::State {
                    path: self.inputs.spool.clone(),
                    message: format!("item '{}': {e}", key.id()),
                })?;
            if let Some(synced) = value
                .get("synced_at")
                .and_then(|v| serde_json::from_value::<Timestamp>(v.clone()).ok())
            {
                synced_until = synced_until.max(Some(synced));
            }

            let (key_slug, key_id) = (key.slug(), key.id());
            let received = value["slug"].as_str().unwrap_or_default();
            if received != key_slug {
                if options.strict {
                    return Err(WriteError::UnsafeSlug {
                        item_id: key_id.to_string(),
                        slug: received.to_string(),
                        safe: key_slug.to_string(),
                    });
                }
                let warning = format!(
                    "item '{key_id}' has the slug {received:?}, which is not lowercase letters, digits and hyphens; writing it as '{key_slug}'"
                );
                tracing::warn!("{warning}");
                self.report.warnings.push(warning);
            }
            let mut slug = key_slug.to_string();
            let mut written = Written::Plain;
            match &previous {
                Some((t, s, first_id)) if *t == key.content_type && s == key_slug => {
                    if options.strict {
                        return Err(WriteError::DuplicateSlug {
                            content_type: key.content_type.as_str(),
                            slug: key_slug.to_string(),
                            first_id: first_id.clone(),
                            second_id: key_id.to_string(),
                        });
                    }
                    slug = suffixed_slug(key_slug, key_id);
                    written = Written::Suffixed;
                    let warning = format!(
                        "items '{first_id}' and '{key_id}' of type {} share the slug '{key_slug}'; writing the second as '{slug}'",
                        key.content_type
                    );
                    tracing::warn!("{warning}");
                    self.report.warnings.push(warning);
                }
                _ => previous = Some((key.content_type, key_slug.to_string(), key_id.to_string())),
            }

            items_out
                .write_all(slug.as_bytes())
                .and_then(|()| items_out.write_all(b"\t"))
                .and_then(|()| items_out.write_all(&raw))
                .and_then(|()| items_out.write_all(b"\n"))
                .map_err(|e| WriteError::io("write", items_path, e))?;

            value["slug"] = serde_json::Value::String(slug.clone());
            make_js_safe(&mut value);
            let item = Ctx::from(Serde(&value));
            let ctx = context(key.content_type, item);

            if let Some(entry) = engine.entry_file(key.content_type, options.markdown) {
                let rel = format!("{}/{slug}.{}", key.content_type.plural(), entry.extension);
                let reuse = self.inputs.same_templates && key.written == written;
                if !(reuse && self.files.keep(&rel)?) {
                    let text = templates.render(entry.template, &ctx, Some(key_id))?;
                    self.files.put(&rel, text.as_bytes())?;
                }
            }
            if let Some(template) = list_template {
                let text = templates.render(template, &ctx, Some(key_id))?;
                let list = &mut lists[usize::from(crate::keys::type_rank(key.content_type))];
                let sep: &[u8] = if list.empty { b"\n" } else { b",\n" };
                list.empty = false;
                list.file
                    .write_all(sep)
                    .and_then(|()| list.file.write_all(text.trim_end().as_bytes()))
                    .map_err(|e| WriteError::io("write", &list.rel, e))?;
            }
        }
        items_out
            .flush()
            .map_err(|e| WriteError::io("write", items_path, e))?;
        for mut list in lists {
            let end: &[u8] = if list.empty { b"]\n" } else { b"\n]\n" };
            list.file
                .write_all(end)
                .and_then(|()| list.file.flush())
                .map_err(|e| WriteError::io("write", &list.rel, e))?;
            drop(list.file);
            self.files.settle(&list.rel)?;
        }
        Ok((count, synced_until))
    }

    /// The files decided so far.
    pub(crate) fn into_files(self) -> Files {
        self.files
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
                    plural => t.plural(),
                    pascal => pascal(t.as_str()),
                    pascal_plural => pascal(t.plural()),
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

fn pascal(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn context(content_type: ContentType, item: Ctx) -> Ctx {
    minijinja::context! {
        item,
        content_type => minijinja::context! {
            name => content_type.as_str(),
            plural => content_type.plural(),
        },
        schema_version => SCHEMA_VERSION,
        summary_fields => Ctx::from(Serde(crate::next::SUMMARY_FIELDS)),
    }
}
