//! A run of an engine writer: items in, page by page; files out, swapped in atomically.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use minijinja::value::{Serde, Value as Ctx};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use unified_content::{
    ContentType, SCHEMA_VERSION, Timestamp, UnifiedContent, make_js_safe, slugify,
};

use crate::external_sort::{ExternalSort, Limits, Sorted};
use crate::paths::{join_inside, suffixed_slug};
use crate::swap::{recover, remove_tree, swap_in};
use crate::templates::Templates;
use crate::{Engine, MARKDOWN_TEMPLATES, WriteError, typegen};

/// The state file of the last run, inside the output folder.
pub const STATE_FILE: &str = ".content-fetch-state.json";
/// Every item of the last run, one per line, sorted as the outputs are: the base of the next
/// incremental run. Lines are `<slug written>\t<item JSON>`.
const ITEMS_FILE: &str = ".content-fetch-items.jsonl";
/// New items of this run, in arrival order, inside the staging folder; removed before the swap.
const SPOOL_FILE: &str = ".content-fetch-spool.jsonl";
/// The scratch folder of the run's external sorts, inside the staging folder; removed before
/// the swap.
const SORT_DIR: &str = ".content-fetch-sort";

/// Whether a run starts from nothing or from the previous run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Fetch everything and write every file (`--full`, the default).
    #[default]
    Full,
    /// Fetch what changed since the previous run, tombstones included (`--incremental`). Falls
    /// back to a full run when the output folder holds no usable state.
    Incremental,
}

/// What a run writes and how.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// The output folder. The run owns it: files in it that the run does not write are removed.
    pub out: PathBuf,
    /// A folder of templates that override or add to the embedded ones, by relative name such
    /// as `astro/entry.json`.
    pub template_dir: Option<PathBuf>,
    /// Write articles and pages as Markdown with front matter.
    pub markdown: bool,
    /// Fail on duplicate or unsafe slugs instead of fixing them with a warning.
    pub strict: bool,
    /// Full or incremental.
    pub mode: Mode,
}

impl WriteOptions {
    /// Options for a full run into `out`.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        WriteOptions {
            out: out.into(),
            template_dir: None,
            markdown: false,
            strict: false,
            mode: Mode::Full,
        }
    }
}

/// What a finished run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Whether the run built on the previous run's state.
    pub incremental: bool,
    /// Items received in this run (tombstones included).
    pub received: usize,
    /// Items in the output after the run.
    pub items: usize,
    /// Files whose bytes changed or are new.
    pub files_written: usize,
    /// Files kept as they were, modification time included.
    pub files_unchanged: usize,
    /// Files of the previous output that are gone.
    pub files_removed: usize,
    /// Bytes of the files written.
    pub bytes_written: u64,
    /// Slugs that were fixed: duplicates suffixed, unsafe slugs re-slugified.
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct State {
    engine: String,
    schema_version: u32,
    templates: String,
    markdown: bool,
    items: usize,
    /// The newest `synced_at` (when the content cache stored it) of any item in the output:
    /// the next incremental run asks for what the cache changed since then. The cache's clock,
    /// not the providers' `updated_at`: a late delivery with an older `updated_at` is still
    /// seen.
    synced_until: Option<Timestamp>,
}

/// The fields of an item that place it.
#[derive(Deserialize)]
struct Placement {
    id: String,
    slug: String,
    content_type: ContentType,
}

/// Where an item's line is: this run's spool or the previous run's item cache.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Spool = 0,
    Cache = 1,
}

/// How the previous run named an item's files.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Written {
    /// Not in the previous run (or under a name that no longer applies).
    Unknown = 0,
    /// Under its safe slug.
    Plain = 1,
    /// Under its safe slug with the duplicate suffix.
    Suffixed = 2,
}

/// Where one item's line is and how it sorts. Keys go through external sorts as bytes (see
/// [`Key::sort_key`] and [`Key::meta`]), so memory never holds one per item.
struct Key {
    content_type: ContentType,
    /// `<safe slug>\0<id>`: one allocation, and sorting it sorts by slug then id, because a
    /// slug never holds NUL and NUL sorts before every slug character.
    order: Box<str>,
    source: Source,
    deleted: bool,
    written: Written,
    offset: u64,
    len: u32,
}

impl Key {
    fn new(content_type: ContentType, slug: &str, id: &str) -> Key {
        Key {
            content_type,
            order: format!("{}\0{id}", slugify(slug)).into_boxed_str(),
            source: Source::Spool,
            deleted: false,
            written: Written::Unknown,
            offset: 0,
            len: 0,
        }
    }

    fn slug(&self) -> &str {
        self.order.split_once('\0').map_or("", |(slug, _)| slug)
    }

    fn id(&self) -> &str {
        self.order.split_once('\0').map_or("", |(_, id)| id)
    }

    /// The bytes that sort keys as the outputs are ordered: the content type's rank, then
    /// `order` (slug, then id).
    fn sort_key(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(1 + self.order.len());
        bytes.push(type_rank(self.content_type));
        bytes.extend_from_slice(self.order.as_bytes());
        bytes
    }

    /// Everything but the sort key, in [`META_LEN`] bytes.
    fn meta(&self) -> [u8; META_LEN] {
        let mut meta = [0; META_LEN];
        meta[0] = self.source as u8;
        meta[1] = u8::from(self.deleted);
        meta[2] = self.written as u8;
        meta[3..11].copy_from_slice(&self.offset.to_le_bytes());
        meta[11..].copy_from_slice(&self.len.to_le_bytes());
        meta
    }

    /// The key that [`Key::sort_key`] and [`Key::meta`] encoded; `None` for other bytes.
    fn decode(sort_key: &[u8], meta: &[u8]) -> Option<Key> {
        let (&rank, order) = sort_key.split_first()?;
        let meta: &[u8; META_LEN] = meta.try_into().ok()?;
        Some(Key {
            content_type: *ContentType::ALL.get(usize::from(rank))?,
            order: std::str::from_utf8(order).ok()?.into(),
            source: match meta[0] {
                0 => Source::Spool,
                1 => Source::Cache,
                _ => return None,
            },
            deleted: meta[1] != 0,
            written: match meta[2] {
                0 => Written::Unknown,
                1 => Written::Plain,
                2 => Written::Suffixed,
                _ => return None,
            },
            offset: u64::from_le_bytes(meta[3..11].try_into().ok()?),
            len: u32::from_le_bytes(meta[11..].try_into().ok()?),
        })
    }
}

/// The length of [`Key::meta`]: source, deleted, written, offset (8), len (4).
const META_LEN: usize = 15;
/// The length of an encoded `updated_at`: seconds (8) and nanoseconds (4).
const VERSION_LEN: usize = 12;

/// A content type's place in [`ContentType::ALL`], which lists the types in their `Ord` order.
fn type_rank(content_type: ContentType) -> u8 {
    ContentType::ALL
        .iter()
        .position(|t| *t == content_type)
        .expect("ALL lists every type") as u8
}

/// A received version as bytes whose tuple order is the timestamps' order.
fn version(updated_at: Timestamp) -> [u8; VERSION_LEN] {
    let mut bytes = [0; VERSION_LEN];
    // Offset binary: unsigned big-endian bytes compare as the signed seconds do.
    bytes[..8].copy_from_slice(&(updated_at.timestamp() as u64 ^ (1 << 63)).to_be_bytes());
    bytes[8..].copy_from_slice(&updated_at.timestamp_subsec_nanos().to_be_bytes());
    bytes
}

/// A 128-bit fingerprint of an id: the fixed-size key that brings an id's versions together
/// in the run's sort by id, so that a later version can replace an earlier one.
fn id_print(id: &str) -> [u8; 16] {
    let digest = Sha256::digest(id.as_bytes());
    let mut print = [0; 16];
    print.copy_from_slice(&digest[..16]);
    print
}

/// One run of an engine writer into a staging folder beside the output folder.
///
/// Feed it pages with [`SyncRun::add_page`], then [`SyncRun::commit`]. Dropping it without a
/// commit (a failed fetch, an error) removes the staging folder and leaves the output as it
/// was; a killed process leaves a staging folder that the next run removes.
pub struct SyncRun {
    engine: &'static dyn Engine,
    options: WriteOptions,
    templates: Templates,
    staging: PathBuf,
    previous: Option<State>,
    spool: BufWriter<File>,
    spool_len: u64,
    /// Every item received, by id print: `<meta><version><sort key>`, in arrival order within
    /// an id, so that the newest version of each id can be picked in one pass.
    by_id: ExternalSort,
    /// The memory bounds of the run's sorts.
    sort_limits: Limits,
    received: usize,
}

fn sibling(out: &Path, suffix: &str) -> Result<PathBuf, WriteError> {
    let name = out
        .file_name()
        .ok_or_else(|| WriteError::OutputFolder {
            path: out.to_path_buf(),
            reason: "it has no folder name (it is a root or ends in ..)",
        })?
        .to_string_lossy();
    Ok(out.with_file_name(format!(".{name}.content-fetch-{suffix}")))
}

impl SyncRun {
    /// Starts a run: recovers from an interrupted earlier run, reads the previous state and
    /// prepares the staging folder.
    pub fn begin(
        engine: &'static dyn Engine,
        options: WriteOptions,
    ) -> Result<SyncRun, WriteError> {
        if options.markdown && !engine.supports_markdown() {
            return Err(WriteError::MarkdownUnsupported {
                engine: engine.name(),
            });
        }
        let out = &options.out;
        if out.as_os_str().is_empty() {
            return Err(WriteError::OutputFolder {
                path: out.clone(),
                reason: "the path is empty",
            });
        }
        if out.exists() && !out.is_dir() {
            return Err(WriteError::OutputFolder {
                path: out.clone(),
                reason: "it is a file, not a folder",
            });
        }
        let staging = sibling(out, "staging")?;
        let backup = sibling(out, "previous")?;
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| WriteError::io("create folder", parent, e))?;
        }
        recover(out, &backup, &staging)
            .map_err(|e| WriteError::io("clean up an interrupted run in", &staging, e))?;

        let mut embedded = vec![engine.templates()];
        if engine.supports_markdown() {
            embedded.push(MARKDOWN_TEMPLATES);
        }
        let templates = Templates::load(&embedded, options.template_dir.as_deref())?;

        let previous = match options.mode {
            Mode::Full => None,
            Mode::Incremental => read_state(out, engine)?,
        };
        std::fs::create_dir(&staging).map_err(|e| WriteError::io("create", &staging, e))?;
        let sort_dir = staging.join(SORT_DIR);
        std::fs::create_dir(&sort_dir).map_err(|e| WriteError::io("create", &sort_dir, e))?;
        let spool_path = staging.join(SPOOL_FILE);
        let spool =
            File::create(&spool_path).map_err(|e| WriteError::io("create", &spool_path, e))?;
        Ok(SyncRun {
            engine,
            options,
            templates,
            staging,
            previous,
            spool: BufWriter::new(spool),
            spool_len: 0,
            by_id: ExternalSort::new(sort_dir, "by-id", Limits::DEFAULT),
            sort_limits: Limits::DEFAULT,
            received: 0,
        })
    }

    /// The time to fetch changes from, with tombstones, when this run is incremental; `None`
    /// when everything must be fetched.
    pub fn changes_since(&self) -> Option<Timestamp> {
        self.previous.as_ref().and_then(|s| s.synced_until)
    }

    /// Whether this run builds on the previous one.
    pub fn is_incremental(&self) -> bool {
        self.previous.is_some()
    }

    /// Takes one page of items. Items go to a spool file at once and their placements to an
    /// external sort, so memory does not grow with the number of items. A later version of an
    /// id replaces an earlier one; a tombstone (`status: deleted`) removes the item.
    pub fn add_page(
        &mut self,
        items: impl IntoIterator<Item = UnifiedContent>,
    ) -> Result<(), WriteError> {
        let spool_path = || self.staging.join(SPOOL_FILE);
        for item in items {
            self.received += 1;
            let line = serde_json::to_vec(&item).expect("unified content always serializes");
            let offset = self.spool_len;
            self.spool
                .write_all(&line)
                .and_then(|()| self.spool.write_all(b"\n"))
                .map_err(|e| WriteError::io("write", spool_path(), e))?;
            self.spool_len += line.len() as u64 + 1;
            let mut key = Key::new(item.content_type, &item.slug, &item.id);
            key.offset = offset;
            key.len = u32::try_from(line.len()).map_err(|_| {
                WriteError::io(
                    "write",
                    spool_path(),
                    io::Error::new(io::ErrorKind::InvalidData, "an item over 4 GiB"),
                )
            })?;
            key.deleted = item.is_deleted();
            let mut record = Vec::with_capacity(META_LEN + VERSION_LEN + 1 + key.order.len());
            record.extend_from_slice(&key.meta());
            record.extend_from_slice(&version(item.updated_at));
            record.extend_from_slice(&key.sort_key());
            self.by_id.push(&id_print(&item.id), &record)?;
        }
        Ok(())
    }

    /// Writes every file into the staging folder, then swaps it in place of the output folder.
    pub fn commit(mut self) -> Result<RunReport, WriteError> {
        let spool_path = self.staging.join(SPOOL_FILE);
        self.spool
            .flush()
            .map_err(|e| WriteError::io("write", &spool_path, e))?;
        let mut report = RunReport {
            incremental: self.previous.is_some(),
            received: self.received,
            ..RunReport::default()
        };
        let mut keys = self.keys()?;
        let mut writer = Writer {
            run: &self,
            report: &mut report,
            spool: File::open(&spool_path).map_err(|e| WriteError::io("read", &spool_path, e))?,
            cache: match self.previous {
                Some(_) => {
                    let path = self.options.out.join(ITEMS_FILE);
                    Some(File::open(&path).map_err(|e| WriteError::io("read", &path, e))?)
                }
                None => None,
            },
        };
        let (items, synced_until) = writer.write_items(&mut keys)?;
        drop(keys);
        writer.write_modules()?;
        let state = State {
            engine: self.engine.name().to_string(),
            schema_version: SCHEMA_VERSION,
            templates: self.templates.digest().to_string(),
            markdown: self.options.markdown,
            items,
            synced_until,
        };
        let mut state_json = serde_json::to_vec_pretty(&state).expect("state always serializes");
        state_json.push(b'\n');
        writer.put(STATE_FILE, &state_json)?;
        drop(writer);
        report.items = items;
        std::fs::remove_file(&spool_path).map_err(|e| WriteError::io("remove", &spool_path, e))?;
        let sort_dir = self.staging.join(SORT_DIR);
        std::fs::remove_dir_all(&sort_dir).map_err(|e| WriteError::io("remove", &sort_dir, e))?;
        report.files_removed = count_removed(&self.options.out, &self.staging)?;

        let backup = sibling(&self.options.out, "previous")?;
        swap_in(&self.staging, &self.options.out, &backup)
            .map_err(|e| WriteError::io("swap in the new output at", &self.options.out, e))?;
        tracing::info!(
            engine = self.engine.name(),
            out = %self.options.out.display(),
            items = report.items,
            written = report.files_written,
            unchanged = report.files_unchanged,
            removed = report.files_removed,
            "content written"
        );
        Ok(report)
    }

    /// The sorted placement of every item the output will hold: the previous run's items not
    /// superseded in this run, plus the newest version of each id received in this run unless
    /// it is a tombstone.
    ///
    /// Two external sorts keep memory flat: one by id print (this run's items, then the
    /// previous run's) picks what stays, one by type, slug and id orders it.
    fn keys(&mut self) -> Result<Sorted, WriteError> {
        let sort_dir = self.staging.join(SORT_DIR);
        let mut by_id = std::mem::replace(
            &mut self.by_id,
            ExternalSort::new(sort_dir.clone(), "by-id", self.sort_limits),
        );
        if self.previous.is_some() {
            let path = self.options.out.join(ITEMS_FILE);
            let file = File::open(&path).map_err(|e| WriteError::io("read", &path, e))?;
            let mut reader = BufReader::new(file);
            let mut offset = 0u64;
            let mut line = String::new();
            loop {
                line.clear();
                let n = reader
                    .read_line(&mut line)
                    .map_err(|e| WriteError::io("read", &path, e))?;
                if n == 0 {
                    break;
                }
                let (written_as, json) =
                    line.trim_end()
                        .split_once('\t')
                        .ok_or_else(|| WriteError::State {
                            path: path.clone(),
                            message: "a line without a slug".into(),
                        })?;
                let p: Placement = serde_json::from_str(json).map_err(|e| WriteError::State {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
                let mut key = Key::new(p.content_type, &p.slug, &p.id);
                key.source = Source::Cache;
                key.offset = offset + written_as.len() as u64 + 1;
                key.len = json.len() as u32;
                key.written = if written_as == key.slug() {
                    Written::Plain
                } else if written_as == suffixed_slug(key.slug(), key.id()) {
                    Written::Suffixed
                } else {
                    Written::Unknown
                };
                let mut record = Vec::with_capacity(META_LEN + 1 + key.order.len());
                record.extend_from_slice(&key.meta());
                record.extend_from_slice(&key.sort_key());
                by_id.push(&id_print(&p.id), &record)?;
                offset += n as u64;
            }
        }

        let mut placed = ExternalSort::new(sort_dir.clone(), "placed", self.sort_limits);
        // The records of one id print arrive together: this run's versions in arrival order,
        // then the previous run's (pushed last, and the sort is stable). The newest received
        // version wins, the later one on a tie; any received version supersedes the previous
        // run's item.
        let mut by_id = by_id.finish()?;
        let mut current: Option<Vec<u8>> = None;
        let mut newest: Option<Vec<u8>> = None;
        while let Some((print, record)) = by_id.next()? {
            if current.as_ref() != Some(&print) {
                place_received(&mut placed, newest.take())?;
                current = Some(print);
            }
            let from_previous = record.first() == Some(&(Source::Cache as u8));
            let least = if from_previous {
                META_LEN
            } else {
                META_LEN + VERSION_LEN
            };
            if record.len() < least {
                return Err(undecodable(&sort_dir));
            }
            if from_previous {
                // Kept unless this run received the id.
                if newest.is_none() {
                    let (meta, sort_key) = record.split_at(META_LEN);
                    placed.push(sort_key, meta)?;
                }
                continue;
            }
            if newest.as_deref().is_none_or(|best| {
                record[META_LEN..META_LEN + VERSION_LEN] >= best[META_LEN..META_LEN + VERSION_LEN]
            }) {
                newest = Some(record);
            }
        }
        place_received(&mut placed, newest)?;
        drop(by_id);
        placed.finish()
    }
}

/// Places the newest version of an id received in this run (`<meta><version><sort key>`),
/// unless it is a tombstone.
fn place_received(placed: &mut ExternalSort, newest: Option<Vec<u8>>) -> Result<(), WriteError> {
    let Some(record) = newest else {
        return Ok(());
    };
    let (meta, rest) = record.split_at(META_LEN);
    // `meta[1]` is the tombstone flag.
    if meta[1] == 0 {
        placed.push(&rest[VERSION_LEN..], meta)?;
    }
    Ok(())
}

/// A record of the run's own sort files that does not decode: the scratch folder was changed
/// under the run.
fn undecodable(sort_dir: &Path) -> WriteError {
    WriteError::io(
        "read",
        sort_dir,
        io::Error::new(
            io::ErrorKind::InvalidData,
            "a sort record does not decode; something changed the run's scratch files, run again",
        ),
    )
}

impl Drop for SyncRun {
    fn drop(&mut self) {
        // After a commit the staging path holds the old tree (already removed) or nothing;
        // after a failure it holds a half-written output that must not linger.
        if let Err(e) = remove_tree(&self.staging) {
            tracing::warn!(path = %self.staging.display(), error = %e, "could not remove the staging folder; the next run removes it");
        }
    }
}

fn read_state(out: &Path, engine: &dyn Engine) -> Result<Option<State>, WriteError> {
    let path = out.join(STATE_FILE);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            tracing::info!(out = %out.display(), "no previous state: running a full sync");
            return Ok(None);
        }
        Err(e) => return Err(WriteError::io("read", &path, e)),
    };
    let state: State = serde_json::from_slice(&text).map_err(|e| WriteError::State {
        path: path.clone(),
        message: e.to_string(),
    })?;
    if state.engine != engine.name() || state.schema_version != SCHEMA_VERSION {
        tracing::info!(
            previous_engine = %state.engine,
            previous_schema = state.schema_version,
            "previous output is of another engine or model version: running a full sync"
        );
        return Ok(None);
    }
    Ok(Some(state))
}

/// Counts files of the previous output that the new output (in `staging`) does not have.
/// Both trees are walked from disk, so no list of files is held in memory.
fn count_removed(out: &Path, staging: &Path) -> Result<usize, WriteError> {
    fn walk(dir: &Path, twin: &Path, count: &mut usize) -> Result<(), WriteError> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(WriteError::io("read folder", dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| WriteError::io("read folder", dir, e))?;
            let twin = twin.join(entry.file_name());
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&entry.path(), &twin, count)?;
            } else if std::fs::symlink_metadata(&twin).is_err() {
                *count += 1;
            }
        }
        Ok(())
    }
    let mut count = 0;
    walk(out, staging, &mut count)?;
    Ok(count)
}

/// The render loop of one commit.
struct Writer<'a> {
    run: &'a SyncRun,
    report: &'a mut RunReport,
    spool: File,
    cache: Option<File>,
}

struct OpenList {
    rel: String,
    file: BufWriter<File>,
    empty: bool,
}

impl Writer<'_> {
    fn read_item(&mut self, key: &Key) -> Result<Vec<u8>, WriteError> {
        let (file, path) = match key.source {
            Source::Spool => (&mut self.spool, self.run.staging.join(SPOOL_FILE)),
            Source::Cache => (
                self.cache
                    .as_mut()
                    .expect("cached keys only exist with a cache"),
                self.run.options.out.join(ITEMS_FILE),
            ),
        };
        let mut buf = vec![0; key.len as usize];
        file.seek(SeekFrom::Start(key.offset))
            .and_then(|_| file.read_exact(&mut buf))
            .map_err(|e| WriteError::io("read", path, e))?;
        Ok(buf)
    }

    /// Renders every item in sorted order; returns how many and the newest `updated_at`.
    fn write_items(&mut self, keys: &mut Sorted) -> Result<(usize, Option<Timestamp>), WriteError> {
        let run = self.run;
        let engine = run.engine;
        let items_path = run.staging.join(ITEMS_FILE);
        let mut items_out = BufWriter::new(
            File::create(&items_path).map_err(|e| WriteError::io("create", &items_path, e))?,
        );
        let same_templates = run.previous.as_ref().is_some_and(|p| {
            p.templates == run.templates.digest() && p.markdown == run.options.markdown
        });
        let list_template = engine.list_item_template();
        let mut lists: Vec<OpenList> = Vec::new();
        if list_template.is_some() {
            for t in ContentType::ALL {
                let rel = format!("{}.json", t.plural());
                let path = join_inside(&run.staging, &rel);
                let mut file = BufWriter::new(
                    File::create(&path).map_err(|e| WriteError::io("create", &path, e))?,
                );
                file.write_all(b"[")
                    .map_err(|e| WriteError::io("write", &path, e))?;
                lists.push(OpenList {
                    rel,
                    file,
                    empty: true,
                });
            }
        }
        for t in ContentType::ALL {
            if engine.entry_file(t, run.options.markdown).is_some() {
                let dir = join_inside(&run.staging, t.plural());
                std::fs::create_dir(&dir).map_err(|e| WriteError::io("create", &dir, e))?;
            }
        }

        let mut synced_until: Option<Timestamp> = None;
        let mut previous: Option<(ContentType, String, String)> = None;
        let mut count = 0;
        while let Some((sort_key, meta)) = keys.next()? {
            let key = Key::decode(&sort_key, &meta)
                .ok_or_else(|| undecodable(&run.staging.join(SORT_DIR)))?;
            let key = &key;
            count += 1;
            let raw = self.read_item(key)?;
            let mut value: serde_json::Value =
                serde_json::from_slice(&raw).map_err(|e| WriteError::State {
                    path: run.staging.join(SPOOL_FILE),
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
                if run.options.strict {
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
                    if run.options.strict {
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
                .map_err(|e| WriteError::io("write", &items_path, e))?;

            value["slug"] = serde_json::Value::String(slug.clone());
            make_js_safe(&mut value);
            let item = Ctx::from(Serde(&value));
            let ctx = context(key.content_type, item);

            if let Some(entry) = engine.entry_file(key.content_type, run.options.markdown) {
                let rel = format!("{}/{slug}.{}", key.content_type.plural(), entry.extension);
                let reuse = same_templates && key.written == written;
                if !(reuse && self.link_unchanged(&rel)?) {
                    let text = run.templates.render(entry.template, &ctx, Some(key_id))?;
                    self.put(&rel, text.as_bytes())?;
                }
            }
            if let Some(template) = list_template {
                let text = run.templates.render(template, &ctx, Some(key_id))?;
                let list = &mut lists[ContentType::ALL
                    .iter()
                    .position(|t| *t == key.content_type)
                    .expect("every type has a list")];
                let sep: &[u8] = if list.empty { b"\n" } else { b",\n" };
                list.empty = false;
                list.file
                    .write_all(sep)
                    .and_then(|()| list.file.write_all(text.trim_end().as_bytes()))
                    .map_err(|e| WriteError::io("write", run.staging.join(&list.rel), e))?;
            }
        }
        items_out
            .flush()
            .map_err(|e| WriteError::io("write", &items_path, e))?;
        drop(items_out);
        self.settle(ITEMS_FILE)?;
        for mut list in lists {
            let path = join_inside(&run.staging, &list.rel);
            let end: &[u8] = if list.empty { b"]\n" } else { b"\n]\n" };
            list.file
                .write_all(end)
                .and_then(|()| list.file.flush())
                .map_err(|e| WriteError::io("write", &path, e))?;
            drop(list.file);
            self.settle(&list.rel)?;
        }
        Ok((count, synced_until))
    }

    fn write_modules(&mut self) -> Result<(), WriteError> {
        let run = self.run;
        if run.engine.modules().is_empty() {
            return Ok(());
        }
        let types = typegen::generate(&unified_content::json_schema())?;
        let collections: Vec<Ctx> = ContentType::ALL
            .into_iter()
            .map(|t| {
                let extension = run
                    .engine
                    .entry_file(t, run.options.markdown)
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
        for (template, file) in run.engine.modules() {
            let text = run.templates.render(template, &ctx, None)?;
            self.put(file, text.as_bytes())?;
        }
        Ok(())
    }

    /// Writes `bytes` at `rel` in the staging folder, or links the previous file there when its
    /// bytes are the same, so that its modification time stays.
    fn put(&mut self, rel: &str, bytes: &[u8]) -> Result<(), WriteError> {
        let old = join_inside(&self.run.options.out, rel);
        // Full runs compare too, so that a full refresh also keeps unchanged files' times.
        let same = std::fs::metadata(&old).is_ok_and(|m| m.len() == bytes.len() as u64)
            && std::fs::read(&old).is_ok_and(|b| b == bytes);
        if same && self.link(rel)? {
            return Ok(());
        }
        let path = join_inside(&self.run.staging, rel);
        // `create_new`: a second item mapping to one file is an error, never an overwrite.
        File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut f| f.write_all(bytes))
            .map_err(|e| WriteError::io("write", &path, collision(e)))?;
        self.report.files_written += 1;
        self.report.bytes_written += bytes.len() as u64;
        Ok(())
    }

    /// Links the previous file at `rel` without rendering, when it is still there.
    fn link_unchanged(&mut self, rel: &str) -> Result<bool, WriteError> {
        self.link(rel)
    }

    /// After a streamed file is complete in staging: keep the previous file instead when the
    /// bytes are equal.
    fn settle(&mut self, rel: &str) -> Result<(), WriteError> {
        let new = join_inside(&self.run.staging, rel);
        let old = join_inside(&self.run.options.out, rel);
        if same_bytes(&old, &new) {
            std::fs::remove_file(&new).map_err(|e| WriteError::io("remove", &new, e))?;
            if self.link(rel)? {
                return Ok(());
            }
        }
        let len = std::fs::metadata(&new)
            .map_err(|e| WriteError::io("read", &new, e))?
            .len();
        self.report.files_written += 1;
        self.report.bytes_written += len;
        Ok(())
    }

    /// Hard-links the previous output's file into staging (a copy with the same modification
    /// time where links are not possible). `false` when there is no previous file.
    fn link(&mut self, rel: &str) -> Result<bool, WriteError> {
        let old = join_inside(&self.run.options.out, rel);
        let new = join_inside(&self.run.staging, rel);
        let meta = match std::fs::metadata(&old) {
            Ok(meta) if meta.is_file() => meta,
            _ => return Ok(false),
        };
        match std::fs::hard_link(&old, &new) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(WriteError::io("link", &new, collision(e)));
            }
            Err(_) => copy_with_time(&old, &new, &meta)?,
        }
        self.report.files_unchanged += 1;
        Ok(true)
    }
}

/// Where hard links are not possible: a copy that keeps the modification time.
fn copy_with_time(old: &Path, new: &Path, meta: &std::fs::Metadata) -> Result<(), WriteError> {
    std::fs::copy(old, new).map_err(|e| WriteError::io("copy", old, e))?;
    let modified = meta
        .modified()
        .map_err(|e| WriteError::io("read the time of", old, e))?;
    File::options()
        .write(true)
        .open(new)
        .and_then(|f| f.set_modified(modified))
        .map_err(|e| WriteError::io("set the time of", new, e))
}

/// Names the cause when a file exists already in staging: two items map to it.
fn collision(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::AlreadyExists {
        io::Error::new(
            io::ErrorKind::AlreadyExists,
            "two items map to this file (a suffixed duplicate slug equals another item's slug); change one slug at the provider",
        )
    } else {
        e
    }
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

fn pascal(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn same_bytes(a: &Path, b: &Path) -> bool {
    let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) else {
        return false;
    };
    if ma.len() != mb.len() {
        return false;
    }
    let (Ok(fa), Ok(fb)) = (File::open(a), File::open(b)) else {
        return false;
    };
    let (mut ra, mut rb) = (BufReader::new(fa), BufReader::new(fb));
    let (mut ba, mut bb) = ([0u8; 64 * 1024], [0u8; 64 * 1024]);
    loop {
        let Ok(n) = ra.read(&mut ba) else {
            return false;
        };
        if n == 0 {
            return true;
        }
        if rb.read_exact(&mut bb[..n]).is_err() || ba[..n] != bb[..n] {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use unified_content::ContentStatus;

    use super::*;

    /// Limits that spill every few records and merge two runs at a time.
    const TINY: Limits = Limits {
        chunk_bytes: 256,
        fan_in: 2,
    };

    fn fixture() -> Vec<UnifiedContent> {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/content/items.json");
        let text = std::fs::read_to_string(&path).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn at(second: usize) -> Timestamp {
        format!(
            "2026-03-01T{:02}:{:02}:{:02}Z",
            second / 3600,
            second / 60 % 60,
            second % 60
        )
        .parse()
        .unwrap()
    }

    /// The fixture's `i`th item (modulo its length) under the id `id-<i>`.
    fn item(fixture: &[UnifiedContent], i: usize, slug: &str, second: usize) -> UnifiedContent {
        let mut item = fixture[i % fixture.len()].clone();
        item.id = format!("id-{i:03}");
        item.slug = slug.to_string();
        item.updated_at = at(second);
        item
    }

    /// Items of every type with several versions of some ids (newer first, equal times),
    /// tombstones, duplicate and unsafe slugs, in a scrambled order.
    fn catalog(fixture: &[UnifiedContent]) -> Vec<UnifiedContent> {
        let mut items = Vec::new();
        for i in 0..90 {
            let slug = match i % 7 {
                0 => format!("Shared Slug {}", i % 3),
                1 => "shared".to_string(),
                _ => format!("item-{i}"),
            };
            if i % 4 == 0 {
                let mut newer = item(fixture, i, &format!("moved-{}", i % 5), i + 500);
                newer.title = format!("Newer {i}");
                items.push(newer);
            }
            items.push(item(fixture, i, &slug, i));
            if i % 5 == 0 {
                let mut tie = item(fixture, i, &slug, i);
                tie.title = format!("Same time, later {i}");
                items.push(tie);
            }
            if i % 9 == 0 {
                let mut gone = item(fixture, i, &slug, i + 1000);
                gone.status = ContentStatus::Deleted;
                items.push(gone);
            }
        }
        let n = items.len();
        (0..n).map(|k| items[k * 37 % n].clone()).collect()
    }

    /// Changes for an incremental run over [`catalog`]: new versions (one onto a shared slug),
    /// tombstones, new items.
    fn changes(fixture: &[UnifiedContent]) -> Vec<UnifiedContent> {
        let mut items = Vec::new();
        for i in (1..120).step_by(6) {
            let mut changed = item(fixture, i, &format!("changed-{}", i % 4), 2000 + i);
            if i % 4 == 1 {
                changed.slug = "shared".to_string();
            }
            if i % 5 == 0 {
                changed.status = ContentStatus::Deleted;
            }
            items.push(changed);
        }
        items
    }

    fn write(
        engine: &str,
        out: &Path,
        mode: Mode,
        limits: Limits,
        items: &[UnifiedContent],
    ) -> RunReport {
        let mut options = WriteOptions::new(out);
        options.mode = mode;
        let mut run = SyncRun::begin(crate::engine(engine).unwrap(), options).unwrap();
        run.sort_limits = limits;
        run.by_id = ExternalSort::new(run.staging.join(SORT_DIR), "by-id", limits);
        for page in items.chunks(7) {
            run.add_page(page.to_vec()).unwrap();
        }
        if limits == TINY {
            let runs = std::fs::read_dir(run.staging.join(SORT_DIR))
                .unwrap()
                .count();
            assert!(
                runs > 2,
                "the tiny limits spill to run files, {runs} so far"
            );
        }
        run.commit().unwrap()
    }

    fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut files = BTreeMap::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let bytes = std::fs::read(&path).unwrap();
                    files.insert(path.strip_prefix(dir).unwrap().to_path_buf(), bytes);
                }
            }
        }
        files
    }

    #[test]
    fn sorts_spilled_to_files_write_the_same_bytes_as_sorts_in_memory() {
        let fixture = fixture();
        let (catalog, changes) = (catalog(&fixture), changes(&fixture));
        for engine in ["eleventy", "astro", "next"] {
            let dir = tempfile::tempdir().unwrap();
            let (memory, spilled) = (dir.path().join("memory"), dir.path().join("spilled"));
            for (mode, items) in [(Mode::Full, &catalog), (Mode::Incremental, &changes)] {
                let expected = write(engine, &memory, mode, Limits::DEFAULT, items);
                let report = write(engine, &spilled, mode, TINY, items);
                assert_eq!(report, expected, "{engine} {mode:?}");
                assert!(report.warnings.len() > 5, "{:?}", report.warnings);
                assert!(report.items > 50, "{engine} {mode:?}: {report:?}");
                assert_eq!(tree(&spilled), tree(&memory), "{engine} {mode:?}");
            }
        }
    }
}
