//! A run of an engine writer: items in, page by page; the files that changed out, applied
//! through a journal (see [`crate::journal`]), so that a failed or killed run leaves the
//! previous output readable and the next run repairs it.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::time::Duration;

use unified_content::{SCHEMA_VERSION, Timestamp, UnifiedContent};

use crate::deltas::Kind;
use crate::files::Files;
use crate::index::{INDEX_FILE, IndexWriter, segment_name, segments};
use crate::journal::{self, Journal, remove_tree};
use crate::keys::{Key, id_print};
use crate::render::{Inputs, Writer};
use crate::state::{OLD_ITEMS_FILE, Previous, STATE_FILE, State, StateDir};
use crate::templates::Templates;
use crate::{Engine, MARKDOWN_TEMPLATES, WriteError};
use spill_sort::{ExternalSort, Limits};

/// The scratch folder of the run's external sorts, in the run's scratch folder.
const SORT_DIR: &str = "sort";

/// Whether a run starts from nothing or from the previous run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Fetch everything and write every file that changed (the default).
    #[default]
    Full,
    /// Fetch what changed since the previous run, tombstones included. Falls back to a full
    /// run when there is no usable state of a previous run.
    Incremental,
}

/// What a run writes and how.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// The output folder. A run writes into it only when it is missing, empty, or written by
    /// earlier runs, and removes only files that earlier runs wrote.
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
    /// Take over an output folder that holds files content-fetch did not write, by moving
    /// them into a new folder beside it (never deleting them).
    pub force: bool,
    /// How long to wait for another run into the same output folder to finish; `None` fails
    /// at once.
    pub wait_lock: Option<Duration>,
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
            force: false,
            wait_lock: None,
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
    /// Files that earlier runs wrote and that are gone.
    pub files_removed: usize,
    /// Bytes of the files written.
    pub bytes_written: u64,
    /// Bytes of the files written into the state folder: the index or its delta, the list of
    /// files or its delta, this run's segment and its state.
    pub state_bytes_written: u64,
    /// Slugs that were fixed: duplicates suffixed, unsafe slugs re-slugified.
    pub warnings: Vec<String>,
}

/// One run of an engine writer into an output folder.
///
/// Feed it pages with [`SyncRun::add_page`], then [`SyncRun::commit`]. Dropping it without a
/// commit (a failed fetch, an error) removes its staging folder and leaves the output as it
/// was; a killed process leaves a staging folder that the next run removes. The run holds the
/// output folder's lock from [`SyncRun::begin`] until it ends.
pub struct SyncRun {
    engine: &'static dyn Engine,
    options: WriteOptions,
    templates: Templates,
    state: StateDir,
    id: String,
    staging: PathBuf,
    run_dir: PathBuf,
    /// This run's items, in arrival order, in the run folder: the segment it leaves.
    spool_path: PathBuf,
    segment: u32,
    previous: Option<Previous>,
    moved_aside: Option<PathBuf>,
    spool: BufWriter<File>,
    spool_len: u64,
    /// One item's line, its buffer kept from item to item.
    line: Vec<u8>,
    /// Every item received, by id print: `<meta><version><sort key>`, in arrival order within
    /// an id, so that the newest version of each id can be picked in one pass.
    by_id: ExternalSort,
    /// The memory bounds of the run's sorts.
    sort_limits: Limits,
    received: usize,
}

impl SyncRun {
    /// Starts a run: takes the output folder (refusing one that holds files content-fetch did
    /// not write, unless forced) and its lock, finishes or cleans up after an interrupted
    /// earlier run, reads the previous state and prepares the staging folder.
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
        let reason = if out.as_os_str().is_empty() {
            Some("the path is empty")
        } else if out.exists() && !out.is_dir() {
            Some("it is a file, not a folder")
        } else if out.file_name().is_none() {
            Some("it has no folder name (it is a root or ends in ..)")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(WriteError::OutputFolder {
                path: out.clone(),
                reason,
            });
        }
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| WriteError::io("create folder", parent, e))?;
        }
        let (state, moved_aside) = StateDir::claim(out, options.force, options.wait_lock)?;
        journal::recover(state.path(), out)?;

        let mut embedded = vec![engine.templates()];
        if engine.supports_markdown() {
            embedded.push(MARKDOWN_TEMPLATES);
        }
        let templates = Templates::load(&embedded, options.template_dir.as_deref())?;
        let previous = match options.mode {
            Mode::Full => None,
            Mode::Incremental => state.previous(engine)?,
        };

        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let id = format!("{}-{nanos:x}", std::process::id());
        let staging = journal::staging_dir(out, &id)?;
        let run_dir = journal::run_dir(state.path(), &id);
        let sort_dir = run_dir.join(SORT_DIR);
        for dir in [&staging, &run_dir, &sort_dir] {
            std::fs::create_dir(dir).map_err(|e| WriteError::io("create", dir, e))?;
        }
        let segment = segments(state.path())
            .into_iter()
            .max()
            .map_or(0, |n| n + 1);
        let spool_path = run_dir.join(segment_name(segment));
        let spool =
            File::create(&spool_path).map_err(|e| WriteError::io("create", &spool_path, e))?;
        Ok(SyncRun {
            engine,
            options,
            templates,
            state,
            id,
            staging,
            run_dir,
            spool_path,
            segment,
            previous,
            moved_aside,
            spool: BufWriter::new(spool),
            spool_len: 0,
            line: Vec::new(),
            by_id: ExternalSort::new(sort_dir, "by-id", Limits::DEFAULT),
            sort_limits: Limits::DEFAULT,
            received: 0,
        })
    }

    /// Where the files that content-fetch did not write were moved, when the run was forced
    /// to take over a folder holding them.
    pub fn moved_aside(&self) -> Option<&std::path::Path> {
        self.moved_aside.as_deref()
    }

    /// The time to fetch changes from, with tombstones, when this run is incremental; `None`
    /// when everything must be fetched.
    pub fn changes_since(&self) -> Option<Timestamp> {
        self.previous.as_ref().and_then(|p| p.state.synced_until)
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
        let spool_path = || self.spool_path.clone();
        for item in items {
            self.received += 1;
            let line = &mut self.line;
            line.clear();
            serde_json::to_writer(&mut *line, &item).expect("unified content always serializes");
            let offset = self.spool_len;
            self.spool
                .write_all(line)
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
            let record = key.record(Some(item.version().to_bytes()));
            self.by_id.push(&id_print(&item.id), &record)?;
        }
        Ok(())
    }

    /// Renders every item, stages the files that changed, commits the journal of renames and
    /// deletes, and applies it.
    pub fn commit(mut self) -> Result<RunReport, WriteError> {
        self.spool
            .flush()
            .map_err(|e| WriteError::io("write", &self.spool_path, e))?;
        let mut report = RunReport {
            incremental: self.previous.is_some(),
            received: self.received,
            ..RunReport::default()
        };
        let sort_dir = self.run_dir.join(SORT_DIR);
        let by_id = std::mem::replace(
            &mut self.by_id,
            ExternalSort::new(sort_dir.clone(), "by-id", self.sort_limits),
        );
        let index = self.previous.as_ref().map(|p| &p.index);
        let mut placements = crate::merge::placements(by_id, index, &sort_dir, self.sort_limits)?;
        let out = &self.options.out;
        let files = Files::new(
            out,
            &self.staging,
            Journal::create(&self.run_dir, &self.id)?,
            &self.run_dir,
            self.state.owned()?,
            self.previous.is_some(),
            ExternalSort::new(sort_dir.clone(), "claimed", self.sort_limits),
        )?;
        let same_templates = self.previous.as_ref().is_some_and(|p| {
            p.state.templates == self.templates.digest()
                && p.state.markdown == self.options.markdown
        });
        let inputs = Inputs {
            engine: self.engine,
            options: &self.options,
            templates: &self.templates,
            same_templates,
            spool: self.spool_path.clone(),
            segment: self.segment,
            state_dir: self.state.path().to_path_buf(),
            synced_until: self.previous.as_ref().and_then(|p| p.state.synced_until),
        };
        // An incremental run writes a delta of the index, a full one a new base.
        let delta = self.previous.as_ref().map(|p| {
            let n = p.index.next_delta();
            self.run_dir.join(Kind::Index.delta(n))
        });
        let index_path = match &delta {
            Some(path) => path.clone(),
            None => self.run_dir.join(INDEX_FILE),
        };
        let mut writer = Writer::new(inputs, &mut report, files)?;
        let mut index = IndexWriter::create(&index_path)?;
        let (items, synced_until) = writer.write_items(&mut placements, &mut index)?;
        let delta_entries = index.finish(placements.gone())?;
        drop(placements);
        writer.write_modules()?;
        let (files, referenced) = writer.into_parts();
        let mut state_files = Vec::new();
        let mut stale = Vec::new();
        match (self.previous.take(), delta) {
            (Some(previous), Some(path)) => {
                let base = self.run_dir.join(INDEX_FILE);
                let (moved, gone) = previous.index.settle(path, delta_entries, items, &base)?;
                state_files.extend(moved);
                stale.extend(gone);
            }
            _ => {
                state_files.push(INDEX_FILE.to_string());
                let deltas = Kind::Index.listed(self.state.path());
                stale.extend(deltas.into_iter().map(|n| Kind::Index.delta(n)));
            }
        }

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
        let state_path = self.run_dir.join(STATE_FILE);
        std::fs::write(&state_path, &state_json)
            .map_err(|e| WriteError::io("write", &state_path, e))?;
        report.items = items;
        report.files_written = files.written;
        report.files_unchanged = files.unchanged;
        report.bytes_written = files.bytes;
        // The index and its segment before the state that points past them: a run killed
        // between these renames asks for more changes next time, never for fewer.
        if referenced.contains(&self.segment) {
            state_files.push(segment_name(self.segment));
        }
        state_files.push(STATE_FILE.to_string());
        stale.extend(
            segments(self.state.path())
                .into_iter()
                .filter(|n| !referenced.contains(n))
                .map(segment_name),
        );
        if self.state.path().join(OLD_ITEMS_FILE).exists() {
            stale.push(OLD_ITEMS_FILE.to_string());
        }
        (report.files_removed, report.state_bytes_written) =
            files.commit(self.state.path(), state_files, stale)?;
        journal::apply(self.state.path(), out)?;
        tracing::info!(
            engine = self.engine.name(),
            out = %out.display(),
            items = report.items,
            written = report.files_written,
            unchanged = report.files_unchanged,
            removed = report.files_removed,
            "content written"
        );
        Ok(report)
    }
}

impl Drop for SyncRun {
    fn drop(&mut self) {
        // After a commit both folders are gone; after a failure they hold a half-written
        // output that must not linger. Only this run's folders: another run's are its own.
        for dir in [&self.staging, &self.run_dir] {
            if let Err(e) = remove_tree(dir) {
                tracing::warn!(path = %dir.display(), error = %e, "could not remove a scratch folder; the next run removes it");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

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

    /// Changes for a second incremental run: items of the first changed again (onto each
    /// other's slugs), base items removed, and more new ones.
    fn more_changes(fixture: &[UnifiedContent]) -> Vec<UnifiedContent> {
        let mut items = Vec::new();
        for i in (1..130).step_by(5) {
            let mut changed = item(fixture, i, &format!("again-{}", i % 3), 3000 + i);
            if i % 3 == 0 {
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
        run.by_id = ExternalSort::new(run.run_dir.join(SORT_DIR), "by-id", limits);
        for page in items.chunks(7) {
            run.add_page(page.to_vec()).unwrap();
        }
        if limits == TINY {
            let runs = std::fs::read_dir(run.run_dir.join(SORT_DIR))
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
        let more = more_changes(&fixture);
        for engine in ["eleventy", "astro", "next"] {
            let dir = tempfile::tempdir().unwrap();
            let (memory, spilled) = (dir.path().join("memory"), dir.path().join("spilled"));
            let runs = [
                (Mode::Full, &catalog),
                (Mode::Incremental, &changes),
                (Mode::Incremental, &more),
            ];
            for (mode, items) in runs {
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
