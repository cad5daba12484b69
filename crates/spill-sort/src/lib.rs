//! Sorting more records than memory should hold, so memory stays flat however many records.
//!
//! Records (a key and a value, both bytes) are gathered into a chunk of bounded size; a full
//! chunk is sorted and written to a run file in a scratch folder; the runs are then merged
//! back in key order, at most [`Limits::fan_in`] at a time. Keys compare as bytes. The sort is
//! stable: records with equal keys come out in the order they were pushed, which callers rely
//! on.
//!
//! ```
//! # fn main() -> Result<(), spill_sort::SortError> {
//! let dir = std::env::temp_dir();
//! let mut sort = spill_sort::ExternalSort::new(dir, "doc", spill_sort::Limits::DEFAULT);
//! sort.push(b"b", b"2")?;
//! sort.push(b"a", b"1")?;
//! let mut sorted = sort.finish()?;
//! assert_eq!(sorted.next_record()?, Some((b"a".to_vec(), b"1".to_vec())));
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

/// A scratch file of the sort could not be created, written or read, or a record was too
/// large.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}", path.display())]
pub struct SortError {
    action: &'static str,
    path: PathBuf,
    #[source]
    source: io::Error,
}

impl SortError {
    fn new(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> SortError {
        SortError {
            action,
            path: path.into(),
            source,
        }
    }

    /// What was being done (such as `write`), the file or folder, and the I/O error.
    pub fn into_parts(self) -> (&'static str, PathBuf, io::Error) {
        (self.action, self.path, self.source)
    }
}

/// One record: (key, value).
pub type Record = (Vec<u8>, Vec<u8>);

/// How much an [`ExternalSort`] holds in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How many bytes of records a chunk gathers before it is sorted and written out.
    pub chunk_bytes: usize,
    /// The most runs merged at once (at least 2): each open run holds one read buffer.
    pub fan_in: usize,
}

impl Limits {
    /// Chunks of 2 MiB: a million records of ~100 bytes make ~57 runs, merged in one pass,
    /// and a sort holds about 2.5 MiB.
    pub const DEFAULT: Limits = Limits {
        chunk_bytes: 2 << 20,
        fan_in: 64,
    };
}

/// Where one record of the current chunk lies in the chunk's bytes.
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    key_len: u32,
    value_len: u32,
}

impl Span {
    /// The record's key and value in the chunk's bytes.
    fn parts(self, data: &[u8]) -> (&[u8], &[u8]) {
        let key_end = self.start + self.key_len as usize;
        (
            &data[self.start..key_end],
            &data[key_end..key_end + self.value_len as usize],
        )
    }
}

/// A stable sort of byte records, spilling sorted runs to files in a scratch folder.
pub struct ExternalSort {
    dir: PathBuf,
    name: &'static str,
    limits: Limits,
    data: Vec<u8>,
    spans: Vec<Span>,
    runs: Vec<PathBuf>,
    /// Run files written so far, to name the next one.
    written: usize,
}

impl ExternalSort {
    /// A sort whose run files are `<dir>/<name>-<n>.run`; `dir` must exist.
    pub fn new(dir: PathBuf, name: &'static str, limits: Limits) -> ExternalSort {
        ExternalSort {
            dir,
            name,
            limits: Limits {
                fan_in: limits.fan_in.max(2),
                ..limits
            },
            data: Vec::new(),
            spans: Vec::new(),
            runs: Vec::new(),
            written: 0,
        }
    }

    /// Adds one record.
    pub fn push(&mut self, key: &[u8], value: &[u8]) -> Result<(), SortError> {
        let too_long = || {
            SortError::new(
                "sort records in",
                &self.dir,
                io::Error::new(io::ErrorKind::InvalidInput, "a record over 4 GiB"),
            )
        };
        let (key_len, value_len) = (
            u32::try_from(key.len()).map_err(|_| too_long())?,
            u32::try_from(value.len()).map_err(|_| too_long())?,
        );
        // A chunk's bytes stay in one buffer of the chunk's size, reserved once and reused: a
        // record that would not fit spills the chunk first, so the buffer never doubles (a
        // copy and a freed block left behind for each chunk, which fragmented the heap).
        let needed = key.len() + value.len();
        if !self.spans.is_empty() && self.data.len() + needed > self.data.capacity() {
            self.spill()?;
        }
        if self.data.capacity() == 0 {
            self.data.reserve_exact(self.limits.chunk_bytes.max(needed));
        }
        let span = Span {
            start: self.data.len(),
            key_len,
            value_len,
        };
        self.data.extend_from_slice(key);
        self.data.extend_from_slice(value);
        self.spans.push(span);
        if self.data.len() + self.spans.len() * size_of::<Span>() >= self.limits.chunk_bytes {
            self.spill()?;
        }
        Ok(())
    }

    fn key(&self, span: Span) -> &[u8] {
        span.parts(&self.data).0
    }

    fn sort_chunk(&mut self) {
        let mut spans = std::mem::take(&mut self.spans);
        // `sort_by` is stable: equal keys keep the order they were pushed in.
        spans.sort_by(|a, b| self.key(*a).cmp(self.key(*b)));
        self.spans = spans;
    }

    fn next_run_path(&mut self) -> PathBuf {
        let path = self.dir.join(format!("{}-{}.run", self.name, self.written));
        self.written += 1;
        path
    }

    /// Sorts the chunk into a new run file and empties it, keeping its buffers for the next.
    fn spill(&mut self) -> Result<(), SortError> {
        self.sort_chunk();
        let path = self.next_run_path();
        let mut out = RunWriter::create(path.clone())?;
        for &span in &self.spans {
            let (key, value) = span.parts(&self.data);
            out.write(key, value)?;
        }
        out.finish()?;
        self.runs.push(path);
        self.data.clear();
        self.spans.clear();
        Ok(())
    }

    /// Every record pushed, in key order.
    pub fn finish(mut self) -> Result<Sorted, SortError> {
        if self.runs.is_empty() {
            // Everything fitted in one chunk: no file needed.
            self.sort_chunk();
            return Ok(Sorted(Source::Memory {
                data: std::mem::take(&mut self.data),
                spans: std::mem::take(&mut self.spans).into_iter(),
            }));
        }
        if !self.spans.is_empty() {
            self.spill()?;
        }
        self.data = Vec::new();
        self.spans = Vec::new();
        // Merge consecutive runs, in order, until one merge can take them all: merging
        // neighbours with ties going to the earlier run keeps the sort stable.
        while self.runs.len() > self.limits.fan_in {
            let runs = std::mem::take(&mut self.runs);
            for group in runs.chunks(self.limits.fan_in) {
                if let [single] = group {
                    self.runs.push(single.clone());
                    continue;
                }
                let mut merge = Merge::open(group.to_vec())?;
                let path = self.next_run_path();
                let mut out = RunWriter::create(path.clone())?;
                while let Some((key, value)) = merge.next()? {
                    out.write(&key, &value)?;
                }
                out.finish()?;
                drop(merge);
                self.runs.push(path);
            }
        }
        Ok(Sorted(Source::Merge(Merge::open(std::mem::take(
            &mut self.runs,
        ))?)))
    }
}

impl Drop for ExternalSort {
    /// Removes the runs of a sort dropped before [`ExternalSort::finish`] (a caller that starts
    /// over); a finished sort has handed its runs to the merge, which removes them.
    fn drop(&mut self) {
        for path in &self.runs {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The records of an [`ExternalSort`], in key order.
pub struct Sorted(Source);

enum Source {
    /// All records fitted in one chunk.
    Memory {
        data: Vec<u8>,
        spans: std::vec::IntoIter<Span>,
    },
    /// Records merged from run files.
    Merge(Merge),
}

impl Sorted {
    /// The next record as (key, value), or `None` after the last.
    pub fn next_record(&mut self) -> Result<Option<Record>, SortError> {
        match &mut self.0 {
            Source::Memory { data, spans } => Ok(spans.next().map(|span| {
                let (key, value) = span.parts(data);
                (key.to_vec(), value.to_vec())
            })),
            Source::Merge(merge) => merge.next(),
        }
    }
}

/// Writes records to a run file as `<key len u32 LE><value len u32 LE><key><value>`.
struct RunWriter {
    path: PathBuf,
    file: BufWriter<File>,
}

impl RunWriter {
    fn create(path: PathBuf) -> Result<RunWriter, SortError> {
        let file = File::create(&path).map_err(|e| SortError::new("create", &path, e))?;
        Ok(RunWriter {
            path,
            file: BufWriter::new(file),
        })
    }

    fn write(&mut self, key: &[u8], value: &[u8]) -> Result<(), SortError> {
        // Lengths fit: every record was checked against u32 when pushed.
        let (key_len, value_len) = (key.len() as u32, value.len() as u32);
        self.file
            .write_all(&key_len.to_le_bytes())
            .and_then(|()| self.file.write_all(&value_len.to_le_bytes()))
            .and_then(|()| self.file.write_all(key))
            .and_then(|()| self.file.write_all(value))
            .map_err(|e| SortError::new("write", &self.path, e))
    }

    fn finish(mut self) -> Result<(), SortError> {
        self.file
            .flush()
            .map_err(|e| SortError::new("write", &self.path, e))
    }
}

/// One open run file.
struct RunReader {
    path: PathBuf,
    file: BufReader<File>,
}

impl RunReader {
    fn read(&mut self) -> Result<Option<Record>, SortError> {
        let at_end = self
            .file
            .fill_buf()
            .map_err(|e| SortError::new("read", &self.path, e))?
            .is_empty();
        if at_end {
            return Ok(None);
        }
        let mut lens = [0u8; 8];
        self.file
            .read_exact(&mut lens)
            .map_err(|e| SortError::new("read", &self.path, e))?;
        let key_len = u32::from_le_bytes(lens[..4].try_into().expect("4 bytes")) as usize;
        let value_len = u32::from_le_bytes(lens[4..].try_into().expect("4 bytes")) as usize;
        let (mut key, mut value) = (vec![0; key_len], vec![0; value_len]);
        self.file
            .read_exact(&mut key)
            .and_then(|()| self.file.read_exact(&mut value))
            .map_err(|e| SortError::new("read", &self.path, e))?;
        Ok(Some((key, value)))
    }
}

/// The head record of one run during a merge; ordered by key, then by run so that ties go to
/// the earlier run.
struct Head {
    key: Vec<u8>,
    run: usize,
    value: Vec<u8>,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        (&self.key, self.run).cmp(&(&other.key, other.run))
    }
}

/// A k-way merge of sorted run files; the files are removed when it is dropped.
struct Merge {
    runs: Vec<RunReader>,
    heads: BinaryHeap<Reverse<Head>>,
}

impl Merge {
    fn open(paths: Vec<PathBuf>) -> Result<Merge, SortError> {
        let mut merge = Merge {
            runs: Vec::with_capacity(paths.len()),
            heads: BinaryHeap::with_capacity(paths.len()),
        };
        for path in paths {
            // Owned by the merge before it is opened, so that it is removed on every path.
            merge.runs.push(RunReader {
                file: BufReader::new(
                    File::open(&path).map_err(|e| SortError::new("read", &path, e))?,
                ),
                path,
            });
        }
        for run in 0..merge.runs.len() {
            merge.refill(run)?;
        }
        Ok(merge)
    }

    fn refill(&mut self, run: usize) -> Result<(), SortError> {
        if let Some((key, value)) = self.runs[run].read()? {
            self.heads.push(Reverse(Head { key, run, value }));
        }
        Ok(())
    }

    fn next(&mut self) -> Result<Option<Record>, SortError> {
        let Some(Reverse(head)) = self.heads.pop() else {
            return Ok(None);
        };
        self.refill(head.run)?;
        Ok(Some((head.key, head.value)))
    }
}

impl Drop for Merge {
    fn drop(&mut self) {
        for run in &self.runs {
            // Best effort: the caller owns the scratch folder and removes it in the end;
            // this frees disk space as soon as a run is merged.
            let _ = std::fs::remove_file(&run.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sort in `dir` with the given limits.
    fn new_sort(dir: &tempfile::TempDir, chunk_bytes: usize, fan_in: usize) -> ExternalSort {
        let limits = Limits {
            chunk_bytes,
            fan_in,
        };
        ExternalSort::new(dir.path().to_path_buf(), "test", limits)
    }

    /// Pushes `(key, value)` records through a sort with the given limits and returns what
    /// comes out, with the number of run files written.
    fn sort(records: &[Record], chunk_bytes: usize, fan_in: usize) -> (Vec<Record>, usize) {
        let dir = tempfile::tempdir().unwrap();
        let mut sort = new_sort(&dir, chunk_bytes, fan_in);
        for (key, value) in records {
            sort.push(key, value).unwrap();
        }
        let runs = sort.written;
        let mut sorted = sort.finish().unwrap();
        let mut out = Vec::new();
        while let Some(record) = sorted.next_record().unwrap() {
            out.push(record);
        }
        drop(sorted);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "run files are removed once merged"
        );
        (out, runs)
    }

    /// Keys with many duplicates, in a scrambled order; each value records its push order.
    fn records(count: u32) -> Vec<Record> {
        (0..count)
            .map(|i| {
                let key = format!("k{:02}", (i * 7919) % 23).into_bytes();
                (key, i.to_be_bytes().to_vec())
            })
            .collect()
    }

    /// What a stable in-memory sort gives.
    fn expected(records: &[Record]) -> Vec<Record> {
        let mut sorted = records.to_vec();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        sorted
    }

    #[test]
    fn one_chunk_sorts_in_memory_and_stably() {
        let records = records(200);
        let (out, runs) = sort(
            &records,
            Limits::DEFAULT.chunk_bytes,
            Limits::DEFAULT.fan_in,
        );
        assert_eq!(runs, 0);
        assert_eq!(out, expected(&records));
    }

    #[test]
    fn duplicates_across_chunks_keep_their_push_order() {
        let records = records(500);
        // About 5 records per chunk: ~100 runs, merged in two levels with a fan-in of 8.
        let (out, runs) = sort(&records, 5 * (7 + 16), 8);
        assert!(runs >= 100, "{runs} runs");
        assert_eq!(out, expected(&records));
    }

    #[test]
    fn every_chunk_boundary_gives_the_same_order() {
        let records = records(60);
        let want = expected(&records);
        for chunk_bytes in [1, 23, 24, 46, 47, 100, 1000, 2000] {
            for fan_in in [2, 3, 64] {
                let (out, _) = sort(&records, chunk_bytes, fan_in);
                assert_eq!(out, want, "chunk {chunk_bytes} bytes, fan-in {fan_in}");
            }
        }
    }

    #[test]
    fn a_chunk_stays_in_one_buffer_of_the_chunk_size() {
        let dir = tempfile::tempdir().unwrap();
        let mut sort = new_sort(&dir, 1000, 64);
        for i in 0..500u32 {
            let value = vec![b'v'; (i % 53) as usize];
            sort.push(&i.to_be_bytes(), &value).unwrap();
            assert_eq!(sort.data.capacity(), 1000, "after record {i}");
        }
        assert!(sort.written > 10, "{} runs", sort.written);
        let mut sorted = sort.finish().unwrap();
        for i in 0..500u32 {
            let (key, value) = sorted.next_record().unwrap().unwrap();
            assert_eq!(
                (key, value.len()),
                (i.to_be_bytes().to_vec(), (i % 53) as usize)
            );
        }
        assert!(sorted.next_record().unwrap().is_none());
    }

    #[test]
    fn a_sort_dropped_unfinished_removes_its_runs() {
        let dir = tempfile::tempdir().unwrap();
        let mut sort = new_sort(&dir, 1, 2);
        for (key, value) in records(10) {
            sort.push(&key, &value).unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 10);
        drop(sort);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn empty_keys_values_and_no_records() {
        assert!(sort(&[], 1, 2).0.is_empty());
        let records = vec![
            (b"b".to_vec(), Vec::new()),
            (Vec::new(), b"first".to_vec()),
            (b"a".to_vec(), b"x".to_vec()),
            (Vec::new(), b"second".to_vec()),
        ];
        for chunk_bytes in [1, Limits::DEFAULT.chunk_bytes] {
            assert_eq!(sort(&records, chunk_bytes, 2).0, expected(&records));
        }
    }
}
