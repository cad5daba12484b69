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
//! deltas grow past [`Deltas::due`] and the run writes a new base instead.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use unified_content::ContentType;

use crate::WriteError;
use crate::deltas::{Deltas, Kind, numbered};
use crate::keys::{Key, Source, TYPES, Written, id_print};

/// The base of the index, in the state folder.
pub(crate) const INDEX_FILE: &str = "index.jsonl";
/// The segment file `n` of the state folder: the items one run received, one JSON per line.
pub(crate) fn segment_name(n: u32) -> String {
    format!("items-{n}.jsonl")
}

/// The segment numbers in the state folder `dir`.
pub(crate) fn segments(dir: &Path) -> Vec<u32> {
    numbered(dir, "items-", ".jsonl")
}

/// One line: type rank, safe slug, id, how it was written, segment, offset, length, and the
/// length of its fragment in the type's list file (0 without one). The strings borrow from
/// the text read unless they hold escapes, so reading a line allocates nothing.
#[derive(Serialize, Deserialize)]
struct Line<'a>(
    u8,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    u8,
    u32,
    u64,
    u32,
    u32,
);

impl Line<'_> {
    /// The content type of the line's rank.
    fn content_type(&self) -> Result<ContentType, String> {
        ContentType::ALL
            .get(usize::from(self.0))
            .copied()
            .ok_or_else(|| format!("no content type of rank {}", self.0))
    }

    /// The key of the line's item, from the previous run.
    fn key(&self) -> Result<Key, String> {
        let Line(_, slug, id, written, segment, offset, len, fragment) = self;
        let mut key = Key::from_parts(self.content_type()?, slug, id);
        key.source = Source::Cache;
        key.written = match written {
            1 => Written::Plain,
            2 => Written::Suffixed,
            _ => Written::Unknown,
        };
        key.segment = *segment;
        key.offset = *offset;
        key.len = *len;
        key.fragment.1 = *fragment;
        Ok(key)
    }
}

/// One line of a delta: an item's line, or the print of an id that is gone.
enum Entry<'a> {
    Line(Line<'a>),
    Gone(String),
}

impl Entry<'_> {
    /// The entry of `line`; a tombstone is a JSON string, an item's line an array.
    fn parse(line: &str) -> Result<Option<Entry<'_>>, serde_json::Error> {
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
    /// The deltas' files, oldest first.
    paths: Vec<PathBuf>,
    /// Their numbers and how many lines and tombstones they hold.
    deltas: Deltas,
    /// Id prints with the position (from 1) in `paths` of the newest delta mentioning them,
    /// sorted by print. Deltas stay small (see [`Deltas::due`]), so this does too.
    mentions: Arc<Vec<([u8; 16], u32)>>,
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
            paths: Vec::new(),
            deltas: Deltas::new(Kind::Index),
            mentions: Arc::default(),
        };
        for n in Kind::Index.listed(dir) {
            let entries = index.read_delta(dir.join(Kind::Index.delta(n)))?;
            index.deltas.push(n, entries);
        }
        Ok(Some(index))
    }

    /// The number of the next delta.
    pub(crate) fn next_delta(&self) -> u32 {
        self.deltas.next()
    }

    /// Settles this run's delta at `path` (numbered [`PreviousIndex::next_delta`], holding
    /// `entries` lines and tombstones) over an index of `items` items, as [`Deltas::settle`]
    /// says: a compaction writes the whole index, merged, as a new base at `base`.
    pub(crate) fn settle(
        mut self,
        path: PathBuf,
        entries: usize,
        items: usize,
        base: &Path,
    ) -> Result<(Vec<String>, Vec<String>), WriteError> {
        let deltas = std::mem::replace(&mut self.deltas, Deltas::new(Kind::Index));
        deltas.settle(entries, items, || {
            self.read_delta(path)?;
            self.compact(base)
        })
    }

    /// Reads the delta at `path` as the newest; returns how many entries it holds.
    fn read_delta(&mut self, path: PathBuf) -> Result<usize, WriteError> {
        let position = u32::try_from(self.paths.len() + 1).unwrap_or(u32::MAX);
        let mut mentions = Arc::unwrap_or_clone(std::mem::take(&mut self.mentions));
        let mut entries = 0;
        each_entry(&path, &mut |entry| {
            entries += 1;
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
        self.paths.push(path);
        Ok(entries)
    }

    /// The base and each delta, read line by line.
    fn sources(&self) -> Result<Vec<LineSource>, WriteError> {
        let mut sources = vec![LineSource::open(&self.base, 0)?];
        for (position, path) in self.paths.iter().enumerate() {
            let position = u32::try_from(position + 1).unwrap_or(u32::MAX);
            sources.push(LineSource::open(path, position)?);
        }
        Ok(sources)
    }

    /// Reads the index in output order.
    pub(crate) fn reader(&self) -> Result<IndexReader, WriteError> {
        let sources = self.sources()?;
        Ok(IndexReader {
            heads: sources.iter().map(|_| None).collect(),
            sources,
            mentions: Arc::clone(&self.mentions),
            lists: ListEnds::default(),
        })
    }

    /// Calls `f` with the content type's rank and the id of every item of the index, file by
    /// file rather than in output order, building no [`Key`]: the cheap pass that learns what
    /// changes before anything is written. Returns the ends of the type's list files.
    pub(crate) fn scan(&self, f: &mut dyn FnMut(usize, &str)) -> Result<ListEnds, WriteError> {
        let mut lists = ListEnds::default();
        for mut source in self.sources()? {
            while let Some(()) = source.next_with(&self.mentions, |line| {
                let rank = usize::from(line.content_type()?.rank());
                f(rank, &line.2);
                lists.add(rank, line.7);
                Ok(())
            })? {}
        }
        Ok(lists)
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
        writer.finish(&[]).map(drop)
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
    f: &mut dyn FnMut(Entry<'_>) -> Result<(), &'static str>,
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

    /// Calls `f` with the next line that holds its id's current state and returns what it
    /// returns; `None` at the end of the file.
    fn next_with<R>(
        &mut self,
        mentions: &[([u8; 16], u32)],
        f: impl FnOnce(&Line<'_>) -> Result<R, String>,
    ) -> Result<Option<R>, WriteError> {
        let LineSource {
            reader,
            line: buffer,
            path,
            position,
            done,
        } = self;
        let state_error = |message: String| WriteError::State {
            path: path.clone(),
            message,
        };
        while !*done {
            buffer.clear();
            let read = reader
                .read_line(buffer)
                .map_err(|e| state_error(e.to_string()))?;
            if read == 0 {
                *done = true;
                break;
            }
            // As `BufRead::lines` does: without its `\n` or `\r\n`.
            let text = match buffer.strip_suffix('\n') {
                Some(text) => text.strip_suffix('\r').unwrap_or(text),
                None => buffer,
            };
            let Some(Entry::Line(line)) =
                Entry::parse(text).map_err(|e| state_error(e.to_string()))?
            else {
                continue;
            };
            let newest = match mentions.is_empty() {
                true => 0,
                false => {
                    let print = id_print(&line.2);
                    mentions
                        .binary_search_by_key(&print, |(p, _)| *p)
                        .map_or(0, |i| mentions[i].1)
                }
            };
            if newest != *position {
                continue;
            }
            return f(&line).map(Some).map_err(state_error);
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
    /// Where the fragments read so far end in each type's list file.
    lists: ListEnds,
}

impl IndexReader {
    /// The next item, with where its fragment lies in its type's previous list file.
    pub(crate) fn next(&mut self) -> Result<Option<Key>, WriteError> {
        let mut first: Option<usize> = None;
        for i in 0..self.sources.len() {
            if self.heads[i].is_none() {
                self.heads[i] = self.sources[i].next_with(&self.mentions, |line| line.key())?;
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
        let rank = usize::from(key.content_type.rank());
        key.fragment.0 = self.lists.add(rank, key.fragment.1);
        Ok(Some(key))
    }
}

/// Where the fragments added so far end in each type's list file, by rank.
pub(crate) struct ListEnds([u64; TYPES]);

impl Default for ListEnds {
    fn default() -> Self {
        // After each list's opening `[`.
        ListEnds([1; TYPES])
    }
}

impl ListEnds {
    /// Adds a fragment of `len` bytes to the list of `rank`; returns where it starts.
    fn add(&mut self, rank: usize, len: u32) -> u64 {
        let next = &mut self.0[rank];
        // `[` then `\n` before the first fragment, `,\n` before every other.
        *next += if *next == 1 { 1 } else { 2 };
        let start = *next;
        *next += u64::from(len);
        start
    }

    /// The length a list file holding the fragments added of the type of `rank` has: what
    /// the previous run wrote, if nothing changed it since.
    pub(crate) fn list_len(&self, rank: usize) -> u64 {
        match self.0[rank] {
            1 => 3,         // `[]` and a newline.
            end => end + 3, // `\n]` and a newline.
        }
    }
}

/// The index lines of this run, written in output order: in a full run every line (a base);
/// in an incremental run only the lines that differ from the previous index, then the
/// tombstones (a delta).
pub(crate) struct IndexWriter {
    file: BufWriter<File>,
    path: PathBuf,
    /// Whether lines of the previous index that did not change are written too.
    every_line: bool,
    /// Lines written so far.
    lines: usize,
}

impl IndexWriter {
    pub(crate) fn create(path: &Path) -> Result<IndexWriter, WriteError> {
        let file = File::create(path).map_err(|e| WriteError::io("create", path, e))?;
        Ok(IndexWriter {
            file: BufWriter::new(file),
            path: path.to_path_buf(),
            every_line: false,
            lines: 0,
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
            Cow::Borrowed(key.slug()),
            Cow::Borrowed(key.id()),
            written as u8,
            key.segment,
            key.offset,
            key.len,
            fragment,
        );
        self.lines += 1;
        serde_json::to_writer(&mut self.file, &line)
            .map_err(std::io::Error::from)
            .and_then(|()| self.file.write_all(b"\n"))
            .map_err(|e| WriteError::io("write", &self.path, e))
    }

    /// Adds a tombstone for each print of `gone` (ids the output no longer holds) after the
    /// lines, and completes the file. Returns how many lines and tombstones it holds.
    pub(crate) fn finish(mut self, gone: &[[u8; 16]]) -> Result<usize, WriteError> {
        let write_error = |e| WriteError::io("write", &self.path, e);
        for print in gone {
            writeln!(self.file, "\"{}\"", hex::encode(print)).map_err(write_error)?;
        }
        self.file.flush().map_err(write_error)?;
        Ok(self.lines + gone.len())
    }
}
