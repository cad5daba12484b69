//! The index of the output: one small line per item, in output order, saying where its JSON
//! is (a segment file of the state folder) and how its files were written. An incremental run
//! streams it instead of re-reading every item, so it reads, renders and writes only what
//! changed.
//!
//! The index is a base (`index.jsonl`, written by a full run or a compaction) and deltas
//! (`index.<n>.jsonl`), one per incremental run that changed something: the lines that differ
//! from what came before, in output order, and a tombstone (the id's print in hex, as a JSON
//! string) for every id the run received that the output no longer holds. The newest delta
//! that mentions an id holds its state; the base holds every id no delta mentions. So an
//! incremental run writes what changed, never a file the size of the catalogue, until the
//! deltas grow past [`compaction_due`] and the run writes a new base instead.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use unified_content::ContentType;

use crate::WriteError;
use crate::keys::{Key, Source, TYPES, Written, id_print};

/// The base of the index, in the state folder.
pub(crate) const INDEX_FILE: &str = "index.jsonl";
/// Deltas at most, of the index or of the file list, before a run compacts them.
const MAX_DELTAS: usize = 32;
/// Delta entries that never call for a compaction, however small the base.
const MIN_COMPACTED: usize = 64;

/// The delta `n` of the index.
pub(crate) fn delta_name(n: u32) -> String {
    format!("index.{n}.jsonl")
}

/// The numbers of the index's deltas in the state folder `dir`, in order.
pub(crate) fn delta_numbers(dir: &Path) -> Vec<u32> {
    numbered(dir, "index.", ".jsonl")
}

/// The segment file `n` of the state folder: the items one run received, one JSON per line.
pub(crate) fn segment_name(n: u32) -> String {
    format!("items-{n}.jsonl")
}

/// The segment numbers in the state folder `dir`.
pub(crate) fn segments(dir: &Path) -> Vec<u32> {
    numbered(dir, "items-", ".jsonl")
}

/// The numbers `n` of the files `<prefix><n><suffix>` in `dir`, in order.
pub(crate) fn numbered(dir: &Path, prefix: &str, suffix: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut numbers: Vec<u32> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_prefix(prefix)?
                .strip_suffix(suffix)?
                .parse()
                .ok()
        })
        .collect();
    numbers.sort_unstable();
    numbers
}

/// Whether deltas holding `entries` in `deltas` files over a base of `base` entries are due
/// for a compaction: past an eighth of the base, so that reading them stays cheap and a
/// compaction's cost, spread over the runs before it, stays within what those runs changed.
pub(crate) fn compaction_due(deltas: usize, entries: usize, base: usize) -> bool {
    deltas > MAX_DELTAS || entries > MIN_COMPACTED.max(base / 8)
}

/// One line: type rank, safe slug, id, how it was written, segment, offset, length, and the
/// length of its fragment in the type's list file (0 without one).
#[derive(Serialize, Deserialize)]
struct Line(u8, String, String, u8, u32, u64, u32, u32);

/// One line of a delta: an item's line, or the print of an id that is gone.
enum Entry {
    Line(Line),
    Gone(String),
}

impl Entry {
    /// The entry of `line`; a tombstone is a JSON string, an item's line an array.
    fn parse(line: &str) -> Result<Option<Entry>, serde_json::Error> {
        Ok(match line.as_bytes().first() {
            None => None,
            Some(b'"') => Some(Entry::Gone(serde_json::from_str(line)?)),
            Some(_) => Some(Entry::Line(serde_json::from_str(line)?)),
        })
    }
}

/// The index of the previous run: its base and deltas.
pub(crate) struct PreviousIndex {
    base: PathBuf,
    /// The deltas, oldest first, with their numbers.
    deltas: Vec<(u32, PathBuf)>,
    /// Id prints with the position (from 1) in `deltas` of the newest delta mentioning them,
    /// sorted by print. Deltas stay small (see [`compaction_due`]), so this does too.
    mentions: Arc<Vec<([u8; 16], u32)>>,
    /// Lines and tombstones in the deltas.
    delta_entries: usize,
}

impl PreviousIndex {
    /// The index in the state folder `dir`; `None` without a base.
    pub(crate) fn open(dir: &Path) -> Result<Option<PreviousIndex>, WriteError> {
        let base = dir.join(INDEX_FILE);
        if !base.exists() {
            return Ok(None);
        }
        let mut index = PreviousIndex {
            base,
            deltas: Vec::new(),
            mentions: Arc::default(),
            delta_entries: 0,
        };
        for n in delta_numbers(dir) {
            index = index.with_delta(n, dir.join(delta_name(n)))?;
        }
        Ok(Some(index))
    }

    /// The names of the deltas in the state folder.
    pub(crate) fn delta_names(&self) -> impl Iterator<Item = String> + '_ {
        self.deltas.iter().map(|(n, _)| delta_name(*n))
    }

    /// The number of the next delta.
    pub(crate) fn next_delta(&self) -> u32 {
        self.deltas.last().map_or(0, |(n, _)| n + 1)
    }

    /// Whether adding a delta of `entries` entries calls for a compaction, over an index of
    /// `base` items (see [`compaction_due`]).
    pub(crate) fn compaction_due(&self, entries: usize, base: usize) -> bool {
        compaction_due(self.deltas.len() + 1, self.delta_entries + entries, base)
    }

    /// This index with the delta `n` at `path` added as the newest.
    pub(crate) fn with_delta(mut self, n: u32, path: PathBuf) -> Result<PreviousIndex, WriteError> {
        let position = u32::try_from(self.deltas.len() + 1).unwrap_or(u32::MAX);
        let mut mentions = Arc::unwrap_or_clone(std::mem::take(&mut self.mentions));
        each_entry(&path, &mut |entry| {
            self.delta_entries += 1;
            let print = match entry {
                Entry::Line(line) => id_print(&line.2),
                Entry::Gone(hex) => parse_print(&hex).ok_or("a tombstone is not an id print")?,
            };
            mentions.push((print, position));
            Ok(())
        })?;
        // The newest mention of each print: the last after sorting by (print, position).
        mentions.sort_unstable();
        mentions.reverse();
        mentions.dedup_by_key(|(print, _)| *print);
        mentions.reverse();
        self.mentions = Arc::new(mentions);
        self.deltas.push((n, path));
        Ok(self)
    }

    /// Reads the index in output order.
    pub(crate) fn reader(&self) -> Result<IndexReader, WriteError> {
        let mut sources = vec![LineSource::open(&self.base, 0)?];
        for (position, (_, path)) in self.deltas.iter().enumerate() {
            let position = u32::try_from(position + 1).unwrap_or(u32::MAX);
            sources.push(LineSource::open(path, position)?);
        }
        Ok(IndexReader {
            heads: sources.iter().map(|_| None).collect(),
            sources,
            mentions: Arc::clone(&self.mentions),
            // After the list's opening `[`.
            list_offsets: [1; TYPES],
        })
    }

    /// Writes the whole index, base and deltas merged, as a new base at `path`.
    pub(crate) fn compact(&self, path: &Path) -> Result<(), WriteError> {
        let mut reader = self.reader()?;
        let mut writer = IndexWriter::create(path)?;
        writer.every_line = true;
        while let Some(key) = reader.next()? {
            let (written, fragment) = (key.written, key.fragment.1);
            writer.push(&key, written, fragment)?;
        }
        writer.finish()
    }
}

fn parse_print(text: &str) -> Option<[u8; 16]> {
    let mut print = [0; 16];
    hex::decode_to_slice(text, &mut print).ok()?;
    Some(print)
}

/// Calls `f` with every entry of the index file `path`.
fn each_entry(
    path: &Path,
    f: &mut dyn FnMut(Entry) -> Result<(), &'static str>,
) -> Result<(), WriteError> {
    let state_error = |message: String| WriteError::State {
        path: path.to_path_buf(),
        message,
    };
    let file = File::open(path).map_err(|e| WriteError::io("read", path, e))?;
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| state_error(e.to_string()))?;
        if let Some(entry) = Entry::parse(&line).map_err(|e| state_error(e.to_string()))? {
            f(entry).map_err(|m| state_error(m.to_string()))?;
        }
    }
    Ok(())
}

/// One file of the index, read line by line.
struct LineSource {
    reader: BufReader<File>,
    /// The line read last; one buffer for every line of the file.
    line: String,
    path: PathBuf,
    /// 0 for the base, else the delta's position.
    position: u32,
    done: bool,
}

impl LineSource {
    fn open(path: &Path, position: u32) -> Result<LineSource, WriteError> {
        let file = File::open(path).map_err(|e| WriteError::io("read", path, e))?;
        Ok(LineSource {
            reader: BufReader::new(file),
            line: String::new(),
            path: path.to_path_buf(),
            position,
            done: false,
        })
    }

    /// The next line that holds its id's current state.
    fn next(&mut self, mentions: &[([u8; 16], u32)]) -> Result<Option<Key>, WriteError> {
        let state_error = |message: String| WriteError::State {
            path: self.path.clone(),
            message,
        };
        while !self.done {
            self.line.clear();
            let read = self
                .reader
                .read_line(&mut self.line)
                .map_err(|e| state_error(e.to_string()))?;
            if read == 0 {
                self.done = true;
                break;
            }
            // As `BufRead::lines` does: without its `\n` or `\r\n`.
            let line = match self.line.strip_suffix('\n') {
                Some(line) => line.strip_suffix('\r').unwrap_or(line),
                None => &self.line,
            };
            let Some(Entry::Line(Line(rank, slug, id, written, segment, offset, len, fragment))) =
                Entry::parse(line).map_err(|e| state_error(e.to_string()))?
            else {
                continue;
            };
            let newest = match mentions.is_empty() {
                true => 0,
                false => {
                    let print = id_print(&id);
                    mentions
                        .binary_search_by_key(&print, |(p, _)| *p)
                        .map_or(0, |i| mentions[i].1)
                }
            };
            if newest != self.position {
                continue;
            }
            let content_type = *ContentType::ALL
                .get(usize::from(rank))
                .ok_or_else(|| state_error(format!("no content type of rank {rank}")))?;
            let mut key = Key::from_parts(content_type, &slug, &id);
            key.source = Source::Cache;
            key.written = match written {
                1 => Written::Plain,
                2 => Written::Suffixed,
                _ => Written::Unknown,
            };
            key.segment = segment;
            key.offset = offset;
            key.len = len;
            key.fragment.1 = fragment;
            return Ok(Some(key));
        }
        Ok(None)
    }
}

/// The index of the previous run, base and deltas merged, read in output order.
pub(crate) struct IndexReader {
    sources: Vec<LineSource>,
    /// The next line of each source.
    heads: Vec<Option<Key>>,
    mentions: Arc<Vec<([u8; 16], u32)>>,
    /// Where the next fragment of each type's list file starts.
    list_offsets: [u64; TYPES],
}

impl IndexReader {
    /// The next item, with where its fragment lies in its type's previous list file.
    pub(crate) fn next(&mut self) -> Result<Option<Key>, WriteError> {
        let mut first: Option<usize> = None;
        for i in 0..self.sources.len() {
            if self.heads[i].is_none() {
                self.heads[i] = self.sources[i].next(&self.mentions)?;
            }
            if let Some(head) = &self.heads[i]
                && first.is_none_or(|f| {
                    let best = self.heads[f].as_ref().expect("a head was found");
                    head.cmp_order(best).is_lt()
                })
            {
                first = Some(i);
            }
        }
        let Some(mut key) = first.and_then(|i| self.heads[i].take()) else {
            return Ok(None);
        };
        let next = &mut self.list_offsets[usize::from(key.content_type.rank())];
        // `[` then `\n` before the first fragment, `,\n` before every other.
        *next += if *next == 1 { 1 } else { 2 };
        key.fragment.0 = *next;
        *next += u64::from(key.fragment.1);
        Ok(Some(key))
    }

    /// The length a list file holding the fragments read so far of the type of `rank` has:
    /// what the previous run wrote, if nothing changed it since.
    pub(crate) fn list_len(&self, rank: usize) -> u64 {
        match self.list_offsets[rank] {
            1 => 3,         // `[]` and a newline.
            end => end + 3, // `\n]` and a newline.
        }
    }
}

/// The index lines of this run, written in output order: in a full run every line (a base);
/// in an incremental run only the lines that differ from the previous index (a delta, to
/// which [`finish_delta`] adds the tombstones).
pub(crate) struct IndexWriter {
    file: BufWriter<File>,
    path: PathBuf,
    /// Whether lines of the previous index that did not change are written too.
    every_line: bool,
}

impl IndexWriter {
    pub(crate) fn create(path: &Path) -> Result<IndexWriter, WriteError> {
        let file = File::create(path).map_err(|e| WriteError::io("create", path, e))?;
        Ok(IndexWriter {
            file: BufWriter::new(file),
            path: path.to_path_buf(),
            every_line: false,
        })
    }

    /// Adds `key`, written as `written`, whose list fragment is `fragment` bytes long, unless
    /// the previous index holds that line already.
    pub(crate) fn push(
        &mut self,
        key: &Key,
        written: Written,
        fragment: u32,
    ) -> Result<(), WriteError> {
        let unchanged =
            key.source == Source::Cache && key.written == written && key.fragment.1 == fragment;
        if unchanged && !self.every_line {
            return Ok(());
        }
        let line = Line(
            key.content_type.rank(),
            key.slug().to_string(),
            key.id().to_string(),
            written as u8,
            key.segment,
            key.offset,
            key.len,
            fragment,
        );
        serde_json::to_writer(&mut self.file, &line)
            .map_err(std::io::Error::from)
            .and_then(|()| self.file.write_all(b"\n"))
            .map_err(|e| WriteError::io("write", &self.path, e))
    }

    pub(crate) fn finish(mut self) -> Result<(), WriteError> {
        self.file
            .flush()
            .map_err(|e| WriteError::io("write", &self.path, e))
    }
}

/// Completes the delta at `path` that an [`IndexWriter`] wrote: adds a tombstone for every
/// print of `received` (sorted) that none of its lines holds. Returns how many entries it has.
pub(crate) fn finish_delta(path: &Path, received: &[[u8; 16]]) -> Result<usize, WriteError> {
    let mut lines = Vec::new();
    each_entry(path, &mut |entry| match entry {
        Entry::Line(line) => {
            lines.push(id_print(&line.2));
            Ok(())
        }
        Entry::Gone(_) => Err("a tombstone before the run added any"),
    })?;
    lines.sort_unstable();
    let file = File::options()
        .append(true)
        .open(path)
        .map_err(|e| WriteError::io("write", path, e))?;
    let mut file = BufWriter::new(file);
    let mut entries = lines.len();
    for print in received {
        if lines.binary_search(print).is_err() {
            entries += 1;
            let hex = hex::encode(print);
            writeln!(file, "\"{hex}\"").map_err(|e| WriteError::io("write", path, e))?;
        }
    }
    file.flush().map_err(|e| WriteError::io("write", path, e))?;
    Ok(entries)
}
