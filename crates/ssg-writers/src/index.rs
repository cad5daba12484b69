//! The index of the last run's output: one small line per item, in output order, saying where
//! its JSON is (a segment file of the state folder) and how its files were written. An
//! incremental run streams it instead of re-reading every item, so it reads, renders and
//! writes only what changed.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Lines, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use unified_content::ContentType;

use crate::WriteError;
use crate::keys::{Key, Source, TYPES, Written};

/// The index, in the state folder.
pub(crate) const INDEX_FILE: &str = "index.jsonl";

/// The segment file `n` of the state folder: the items one run received, one JSON per line.
pub(crate) fn segment_name(n: u32) -> String {
    format!("items-{n}.jsonl")
}

/// The segment numbers in the state folder `dir`.
pub(crate) fn segments(dir: &Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_prefix("items-")?
                .strip_suffix(".jsonl")?
                .parse()
                .ok()
        })
        .collect()
}

/// One line: type rank, safe slug, id, how it was written, segment, offset, length, and the
/// length of its fragment in the type's list file (0 without one).
#[derive(Serialize, Deserialize)]
struct Line(u8, String, String, u8, u32, u64, u32, u32);

/// The index of the previous run, read in output order.
pub(crate) struct IndexReader {
    lines: Lines<BufReader<File>>,
    path: PathBuf,
    /// Where the next fragment of each type's list file starts.
    list_offsets: [u64; TYPES],
}

impl IndexReader {
    pub(crate) fn open(path: &Path) -> Result<IndexReader, WriteError> {
        let file = File::open(path).map_err(|e| WriteError::io("read", path, e))?;
        Ok(IndexReader {
            lines: BufReader::new(file).lines(),
            path: path.to_path_buf(),
            // After the list's opening `[`.
            list_offsets: [1; TYPES],
        })
    }

    /// The next item, with where its fragment lies in its type's previous list file.
    pub(crate) fn next(&mut self) -> Result<Option<Key>, WriteError> {
        let Some(line) = self.lines.next() else {
            return Ok(None);
        };
        let state_error = |message: String| WriteError::State {
            path: self.path.clone(),
            message,
        };
        let line = line.map_err(|e| state_error(e.to_string()))?;
        let Line(rank, slug, id, written, segment, offset, len, fragment) =
            serde_json::from_str(&line).map_err(|e| state_error(e.to_string()))?;
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
        let next = &mut self.list_offsets[usize::from(rank)];
        // `[` then `\n` before the first fragment, `,\n` before every other.
        *next += if *next == 1 { 1 } else { 2 };
        key.fragment = (*next, fragment);
        *next += u64::from(fragment);
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

/// The index of this run, written in output order.
pub(crate) struct IndexWriter {
    file: BufWriter<File>,
    path: PathBuf,
}

impl IndexWriter {
    pub(crate) fn create(path: &Path) -> Result<IndexWriter, WriteError> {
        let file = File::create(path).map_err(|e| WriteError::io("create", path, e))?;
        Ok(IndexWriter {
            file: BufWriter::new(file),
            path: path.to_path_buf(),
        })
    }

    /// Adds `key`, written as `written`, whose list fragment is `fragment` bytes long.
    pub(crate) fn push(
        &mut self,
        key: &Key,
        written: Written,
        fragment: u32,
    ) -> Result<(), WriteError> {
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
