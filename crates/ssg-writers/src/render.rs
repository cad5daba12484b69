//! Rendering: every item of the output, in order, through the engine's templates, plus the
//! files generated once per run.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::{Arc, mpsc};

use minijinja::value::{Serde, Value as Ctx};
use unified_content::{ContentType, SCHEMA_VERSION, Timestamp};

use crate::files::Files;
use crate::index::{IndexWriter, segment_name};
use crate::keys::{Key, Source, Written};
use crate::merge::Placements;
use crate::naming::{collection_name, names};
use crate::paths::{join_inside, suffixed_slug};
use crate::templates::Templates;
use crate::{Engine, RunReport, WriteError, WriteOptions, typegen};

mod item;
mod json;

use item::{Job, Line, Rendered};

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
    spool: Arc<File>,
    segments: HashMap<u32, Arc<File>>,
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
        /// The span of the previous file copied next, as `(start, end)`: consecutive kept
        /// fragments lie there with their separators, so they are copied in one go.
        span: Option<(u64, u64)>,
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
            spool: Arc::new(spool),
            segments: HashMap::new(),
            referenced: BTreeSet::new(),
        })
    }

    /// Where `key`'s line is: its file (opened once per run) and the file's path.
    fn line(&mut self, key: &Key) -> Result<Line, WriteError> {
        let (file, path) = match key.source {
            Source::Spool => (Arc::clone(&self.spool), self.inputs.spool.clone()),
            Source::Cache => {
                let path = self.inputs.state_dir.join(segment_name(key.segment));
                let file = match self.segments.entry(key.segment) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(e) => e.insert(Arc::new(
                        File::open(&path).map_err(|e| WriteError::io("read", &path, e))?,
                    )),
                };
                (Arc::clone(file), path)
            }
        };
        Ok(Line {
            file,
            path,
            offset: key.offset,
            len: key.len,
        })
    }

    /// Renders what changed of every item in output order, keeps the rest, and writes each
    /// item's line to `index`; returns how many items and the newest `synced_at`.
    ///
    /// Items are decided and their files written in order on this thread, while worker
    /// threads render the items of a small window ahead (each worker in the order it was
    /// given them), so the bytes and the order of files, warnings and errors are those of one
    /// thread, and memory holds a window of items whatever the catalogue's size.
    pub(crate) fn write_items(
        &mut self,
        placements: &mut Placements,
        index: &mut IndexWriter,
    ) -> Result<(usize, Option<Timestamp>), WriteError> {
        let engine = self.inputs.engine;
        let same_templates = self.inputs.same_templates;
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
                        span: None,
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
            if engine.entry_file(t, self.inputs.options.markdown).is_some() {
                self.files.folder(collection_name(t))?;
            }
        }

        let templates = self.inputs.templates;
        let strict = self.inputs.options.strict;
        let stager = self.files.stager();
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(MAX_WORKERS);
        let mut synced_until = self.inputs.synced_until;
        let mut count = 0;
        std::thread::scope(|scope| {
            let mut jobs = Vec::with_capacity(workers);
            let mut results = Vec::with_capacity(workers);
            for _ in 0..workers {
                let (job_tx, job_rx) = mpsc::channel::<Vec<Job>>();
                let (result_tx, result_rx) = mpsc::channel();
                let stager = stager.clone();
                scope.spawn(move || {
                    for batch in job_rx {
                        let rendered: Vec<_> = batch
                            .into_iter()
                            .map(|job| job.render(templates, &stager, strict))
                            .collect();
                        if result_tx.send(rendered).is_err() {
                            return;
                        }
                    }
                });
                jobs.push(job_tx);
                results.push(result_rx);
            }
            // What each worker rendered and was not written yet, in its order.
            let mut ready: Vec<VecDeque<Result<Rendered, WriteError>>> =
                (0..workers).map(|_| VecDeque::new()).collect();
            let mut planner = Planner::default();
            let mut pending: VecDeque<Result<Plan, WriteError>> = VecDeque::with_capacity(WINDOW);
            let mut batch = Vec::with_capacity(BATCH);
            let mut next_worker = 0;
            let mut planning = true;
            loop {
                // Plan in runs of a batch or more, so that threads wake once per batch.
                if planning && pending.len() + BATCH <= WINDOW {
                    while planning && pending.len() < WINDOW {
                        let planned = match placements.next() {
                            Ok(Some(key)) => self.plan(key, &mut planner, list_template, &lists),
                            Ok(None) => {
                                planning = false;
                                break;
                            }
                            Err(e) => Err(e),
                        };
                        // An error fails the run in its turn, after the items before it, as
                        // a strict run's duplicate does; nothing after it matters.
                        let (mut plan, job) = match planned {
                            Ok(planned) => planned,
                            Err(e) => {
                                pending.push_back(Err(e));
                                planning = false;
                                break;
                            }
                        };
                        planning &= !matches!(plan.duplicate, Some(Err(_)));
                        if let Some(job) = job {
                            batch.push(job);
                            plan.worker = Some(next_worker);
                            if batch.len() == BATCH {
                                hand(&jobs, &mut next_worker, &mut batch);
                            }
                        }
                        pending.push_back(Ok(plan));
                    }
                    if !batch.is_empty() {
                        hand(&jobs, &mut next_worker, &mut batch);
                    }
                }
                let Some(plan) = pending.pop_front() else {
                    break;
                };
                let plan = plan?;
                let rendered = match plan.worker {
                    Some(w) => {
                        if ready[w].is_empty() {
                            ready[w]
                                .extend(results[w].recv().expect("a worker answers every batch"));
                        }
                        Some(ready[w].pop_front().expect("a worker answers every job")?)
                    }
                    None => None,
                };
                if let Some(rendered) = &rendered {
                    synced_until = synced_until.max(rendered.synced);
                }
                count += 1;
                self.write(plan, rendered, &mut lists, index)?;
            }
            Ok::<(), WriteError>(())
        })?;
        for mut list in lists {
            list.copy_span()?;
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

    /// Decides what to do with `key`'s files (its slug, whether they stay or are rendered)
    /// and reads its line when something is rendered, into the job for a worker.
    fn plan(
        &mut self,
        key: Key,
        planner: &mut Planner,
        list_template: Option<&'static str>,
        lists: &[List],
    ) -> Result<(Plan, Option<Job>), WriteError> {
        let options = self.inputs.options;
        let (key_slug, key_id) = (key.slug(), key.id());
        let mut suffixed = None;
        let mut written = Written::Plain;
        let mut duplicate = None;
        match &planner.previous {
            Some((t, s, first_id)) if *t == key.content_type && s == key_slug => {
                if options.strict {
                    duplicate = Some(Err(WriteError::DuplicateSlug {
                        content_type: key.content_type.as_str(),
                        slug: key_slug.to_string(),
                        first_id: first_id.clone(),
                        second_id: key_id.to_string(),
                    }));
                } else {
                    let slug = suffixed_slug(key_slug, key_id);
                    written = Written::Suffixed;
                    duplicate = Some(Ok(format!(
                        "items '{first_id}' and '{key_id}' of type {} share the slug '{key_slug}'; writing the second as '{slug}'",
                        key.content_type
                    )));
                    suffixed = Some(slug);
                }
            }
            _ => planner.remember(key.content_type, key_slug, key_id),
        }
        let slug = suffixed.as_deref().unwrap_or(key_slug);
        // An item of the previous run written under the same name by the same templates:
        // its files are what they were, so it is neither read nor rendered.
        let kept =
            key.source == Source::Cache && self.inputs.same_templates && key.written == written;
        let entry = self
            .inputs
            .engine
            .entry_file(key.content_type, options.markdown)
            .map(|entry| {
                // Joined by hand: `format!` costs a tenth of a one-change incremental run.
                let folder = collection_name(key.content_type);
                let mut rel =
                    String::with_capacity(folder.len() + slug.len() + entry.extension.len() + 2);
                for part in [folder, "/", slug, ".", entry.extension] {
                    rel.push_str(part);
                }
                let keep = kept && self.files.exists(&rel);
                (rel, (!keep).then_some(entry.template))
            });
        let list =
            list_template.and_then(
                |template| match &lists[usize::from(key.content_type.rank())] {
                    List::Kept => None,
                    List::Spliced { .. } if kept => Some(ListPlan::Copy),
                    _ => Some(ListPlan::Render(template)),
                },
            );
        // What a worker renders: the entry file unless kept, the fragment unless copied.
        let entry_job = entry
            .as_ref()
            .and_then(|(rel, t)| Some((rel.clone(), (*t)?)));
        let list_job = match list {
            Some(ListPlan::Render(t)) => Some(t),
            _ => None,
        };
        let job = match entry_job.is_some() || list_job.is_some() {
            false => None,
            true => Some(Job {
                content_type: key.content_type,
                id: key_id.to_string(),
                safe_slug: key_slug.to_string(),
                slug: slug.to_string(),
                received: key.source == Source::Spool,
                line: self.line(&key)?,
                entry: entry_job,
                list: list_job,
            }),
        };
        let plan = Plan {
            key,
            written,
            duplicate,
            entry: entry.map(|(rel, template)| (rel, template.is_none())),
            list,
            worker: None,
        };
        Ok((plan, job))
    }

    /// Writes one item's files as `plan` decided, with what a worker `rendered` of them, and
    /// its line of the index.
    fn write(
        &mut self,
        plan: Plan,
        rendered: Option<Rendered>,
        lists: &mut [List],
        index: &mut IndexWriter,
    ) -> Result<(), WriteError> {
        let Plan {
            mut key,
            written,
            duplicate,
            entry,
            list,
            ..
        } = plan;
        match duplicate {
            Some(Err(e)) => return Err(e),
            Some(Ok(warning)) => self.warn(warning),
            None => {}
        }
        let mut rendered = rendered.unwrap_or_default();
        if let Some(warning) = rendered.warning.take() {
            self.warn(warning);
        }
        if let Some((rel, keep)) = entry {
            match (keep, rendered.entry.take()) {
                (true, _) => self.files.keep_existing(&rel)?,
                (false, Some(staged)) => self.files.record(&rel, staged)?,
                (false, None) => unreachable!("an entry file not kept is rendered"),
            }
        }
        let mut fragment = key.fragment.1;
        if let Some(plan) = list {
            let list = &mut lists[usize::from(key.content_type.rank())];
            match plan {
                ListPlan::Copy => list.copy(key.fragment)?,
                ListPlan::Render(_) => {
                    let text = rendered.list.take().expect("a list fragment rendered");
                    list.push(&text)?;
                    fragment = u32::try_from(text.len()).unwrap_or(u32::MAX);
                }
            }
        }
        if key.source == Source::Spool {
            key.segment = self.inputs.segment;
        }
        self.referenced.insert(key.segment);
        index.push(&key, written, fragment)
    }

    fn warn(&mut self, warning: String) {
        tracing::warn!("{warning}");
        self.report.warnings.push(warning);
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

impl List {
    /// Adds the kept fragment at `(offset, len)` of the previous file.
    fn copy(&mut self, (offset, len): (u64, u32)) -> Result<(), WriteError> {
        let end = offset + u64::from(len);
        let List::Spliced { span, .. } = self else {
            unreachable!("a fragment is copied from a spliced list")
        };
        // A fragment right after the span, past its `,\n`, extends it.
        if let Some((_, last)) = span
            && offset == *last + 2
        {
            *last = end;
            return Ok(());
        }
        self.copy_span()?;
        self.separate()?;
        if let List::Spliced { span, .. } = self {
            *span = Some((offset, end));
        }
        Ok(())
    }

    /// Adds a rendered fragment.
    fn push(&mut self, text: &[u8]) -> Result<(), WriteError> {
        self.copy_span()?;
        self.separate()?;
        if let List::Spliced { rel, file, .. } | List::Rendered { rel, file, .. } = self {
            file.write_all(text)
                .map_err(|e| WriteError::io("write", &*rel, e))?;
        }
        Ok(())
    }

    /// Writes the separator before a fragment.
    fn separate(&mut self) -> Result<(), WriteError> {
        if let List::Spliced {
            rel, file, empty, ..
        }
        | List::Rendered { rel, file, empty } = self
        {
            let sep: &[u8] = if *empty { b"\n" } else { b",\n" };
            *empty = false;
            file.write_all(sep)
                .map_err(|e| WriteError::io("write", &*rel, e))?;
        }
        Ok(())
    }

    /// Copies the span of the previous file due, file to file: `std::io::copy` between files
    /// copies in the kernel (`copy_file_range` on Linux), never through this process.
    fn copy_span(&mut self) -> Result<(), WriteError> {
        let List::Spliced {
            rel,
            file,
            previous,
            span: span @ Some(_),
            ..
        } = self
        else {
            return Ok(());
        };
        let (start, end) = span.take().expect("matched as some");
        file.flush()
            .map_err(|e| WriteError::io("write", &*rel, e))?;
        previous
            .seek(SeekFrom::Start(start))
            .and_then(|_| std::io::copy(&mut (&*previous).take(end - start), file.get_mut()))
            .and_then(|copied| match copied == end - start {
                true => Ok(()),
                // The previous file was cut short since it was opened.
                false => Err(std::io::ErrorKind::UnexpectedEof.into()),
            })
            .map_err(|e| WriteError::io("copy", &*rel, e))
    }
}

/// Hands `batch` to the worker `next`, and moves `next` on to the following worker.
fn hand(jobs: &[mpsc::Sender<Vec<Job>>], next: &mut usize, batch: &mut Vec<Job>) {
    jobs[*next]
        .send(std::mem::take(batch))
        .expect("a worker takes jobs until its channel closes");
    *next = (*next + 1) % jobs.len();
}

/// Items decided ahead of the one being written: enough to keep the workers busy, few enough
/// that memory does not notice.
const WINDOW: usize = 128;
/// Items handed to a worker at once.
const BATCH: usize = 16;
/// Render threads at most, whatever the machine has.
const MAX_WORKERS: usize = 8;

/// What the planner remembers from one item to the next: the first item of the current slug.
#[derive(Default)]
struct Planner {
    previous: Option<(ContentType, String, String)>,
}

impl Planner {
    /// Remembers the first item of a slug, in buffers reused from item to item.
    fn remember(&mut self, content_type: ContentType, slug: &str, id: &str) {
        let (t, s, i) = self
            .previous
            .get_or_insert_with(|| (content_type, String::new(), String::new()));
        *t = content_type;
        s.clear();
        s.push_str(slug);
        i.clear();
        i.push_str(id);
    }
}

/// What was decided for one item, in output order.
struct Plan {
    key: Key,
    written: Written,
    /// Its slug is a duplicate: the warning, or under strict the error, raised in its turn.
    duplicate: Option<Result<String, WriteError>>,
    /// Its entry file, and whether the output's file stays as it is.
    entry: Option<(String, bool)>,
    /// What goes into its type's list file.
    list: Option<ListPlan>,
    /// The worker rendering it, when something of it is rendered.
    worker: Option<usize>,
}

/// How an item's fragment of its type's list file is made.
enum ListPlan {
    /// Copied from the previous list file.
    Copy,
    /// Rendered with the template.
    Render(&'static str),
}
