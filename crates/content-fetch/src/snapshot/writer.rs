//! Pulling a snapshot as a stream: items go to a spool file as they arrive and a small
//! record of each to an external sort, so memory stays flat however many items.
//!
//! A record is keyed by id, so the versions of an id come together and the newest is kept
//! (as the engine writers pick it); the kept ones go through a second sort by type and id,
//! the snapshot's order, and are copied from the spool into the file in that order.

use std::collections::BTreeMap;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use spill_sort::{ExternalSort, Limits, SortError};
use tempfile::{NamedTempFile, TempDir};
use unified_content::{
    ContentStatus, ContentType, SCHEMA_VERSION, Timestamp, UnifiedContent, Version,
    write_with_digest,
};

use super::file::{self, Canonical};
use super::{SNAPSHOT_FORMAT, SnapshotHeader, temp};
use crate::error::FetchError;
use crate::fetch::Filters;

/// A record's value: version, type rank, draft flag, spool offset, line length, digest.
const VERSION: std::ops::Range<usize> = 0..Version::BYTES;
const RANK: usize = Version::BYTES;
const DRAFT: usize = RANK + 1;
const OFFSET: std::ops::Range<usize> = DRAFT + 1..DRAFT + 9;
const LEN: std::ops::Range<usize> = OFFSET.end..OFFSET.end + 4;
const DIGEST: std::ops::Range<usize> = LEN.end..LEN.end + 32;
const RECORD_LEN: usize = DIGEST.end;
/// How a spooled item's line starts, as `serde_json` writes a [`SnapshotItem`](super::SnapshotItem): its digest's
/// hex digits come next.
const LINE_START: &[u8] = b"{\"digest\":\"sha256:";

/// A snapshot being pulled, streamed to disk as pages arrive so that memory does not grow
/// with the items: each item goes to a spool file at once, and [`SnapshotWriter::finish`]
/// writes the newest version of each id, sorted, into the snapshot. The spool is a temporary
/// file beside the snapshot and the sorts' scratch files are in a temporary folder: dropping
/// the writer, or a killed process, leaves the snapshot as it was, and the next pull removes
/// a spool a killed one left (the scratch folder of a killed pull stays in the system's
/// temporary folder: nothing sweeps it).
pub struct SnapshotWriter {
    path: PathBuf,
    spool: BufWriter<NamedTempFile>,
    spool_len: u64,
    /// One item's line, its buffer kept from item to item.
    line: Vec<u8>,
    scratch: TempDir,
    /// Sorts made so far, to give each its own scratch folder.
    sorts: usize,
    limits: Limits,
    /// Every item received since the last dedupe, by id.
    by_id: ExternalSort,
    /// The newest version of each id, by type then id, after [`SnapshotWriter::per_type`].
    kept: Option<Kept>,
    received: usize,
}

/// The items a dedupe kept.
struct Kept {
    sort: ExternalSort,
    per_type: BTreeMap<ContentType, usize>,
    drafts: bool,
}

impl std::fmt::Debug for SnapshotWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotWriter")
            .field("path", &self.path)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

impl SnapshotWriter {
    /// Starts a snapshot to be written at `path`.
    pub fn create(path: &Path) -> Result<SnapshotWriter, FetchError> {
        let scratch = tempfile::Builder::new()
            .prefix("content-fetch-snapshot-")
            .tempdir()
            .map_err(|e| scratch_error(path, e))?;
        let by_id = sort_in(path, &scratch, 1, "by-id", Limits::DEFAULT)?;
        Ok(SnapshotWriter {
            path: path.to_path_buf(),
            spool: BufWriter::with_capacity(1 << 16, temp::create(path, 0o600)?),
            spool_len: 0,
            line: Vec::new(),
            scratch,
            sorts: 1,
            limits: Limits::DEFAULT,
            by_id,
            kept: None,
            received: 0,
        })
    }

    /// A new external sort with a scratch folder of its own.
    fn new_sort(&mut self, name: &'static str) -> Result<ExternalSort, FetchError> {
        self.sorts += 1;
        sort_in(&self.path, &self.scratch, self.sorts, name, self.limits)
    }

    fn spool_error(&self, e: std::io::Error) -> FetchError {
        spool_error(&self.path, e)
    }

    fn sort_error(&self, e: SortError) -> FetchError {
        sort_error(&self.path, e)
    }

    /// Takes items in the order received; a later version of an id replaces an earlier one.
    pub fn add(
        &mut self,
        items: impl IntoIterator<Item = UnifiedContent>,
    ) -> Result<(), FetchError> {
        self.undo_dedupe()?;
        for content in items {
            self.received += 1;
            // The bytes `serde_json` writes for a `SnapshotItem`, with the item serialized once:
            // its digest is read off its JSON, then written into the space left for it.
            let line = &mut self.line;
            line.clear();
            line.extend_from_slice(LINE_START);
            let hex_at = line.len();
            line.resize(hex_at + 64, b'0');
            line.extend_from_slice(b"\",\"content\":");
            let digest = write_with_digest(&content, line);
            hex::encode_to_slice(digest, &mut line[hex_at..hex_at + 64])
                .expect("a SHA-256 is 64 hex digits");
            line.push(b'}');
            // Checked before the write, so that the spool holds only items recorded.
            let len = u32::try_from(line.len()).map_err(|_| {
                FetchError::snapshot(
                    &self.path,
                    format!("item '{}' is over 4 GiB as JSON", content.id),
                )
            })?;
            line.push(b'\n');
            let offset = self.spool_len;
            self.spool
                .write_all(line)
                .map_err(|e| spool_error(&self.path, e))?;
            self.spool_len += line.len() as u64;
            let mut record = [0; RECORD_LEN];
            record[VERSION].copy_from_slice(&content.version().to_bytes());
            record[RANK] = content.content_type.rank();
            record[DRAFT] = u8::from(content.status == ContentStatus::Draft);
            record[OFFSET].copy_from_slice(&offset.to_le_bytes());
            record[LEN].copy_from_slice(&len.to_le_bytes());
            record[DIGEST].copy_from_slice(&digest);
            self.by_id
                .push(content.id.as_bytes(), &record)
                .map_err(|e| self.sort_error(e))?;
        }
        Ok(())
    }

    /// Drops everything taken so far, for a run that starts over.
    pub fn restart(&mut self) -> Result<(), FetchError> {
        self.kept = None;
        self.by_id = self.new_sort("by-id")?;
        self.received = 0;
        self.spool_len = 0;
        self.spool
            .flush()
            .and_then(|()| self.spool.get_mut().as_file().set_len(0))
            .and_then(|()| self.spool.seek(SeekFrom::Start(0)).map(drop))
            .map_err(|e| self.spool_error(e))
    }

    /// Items taken, duplicates included.
    pub fn received(&self) -> usize {
        self.received
    }

    /// Distinct items per content type, as the snapshot will hold them. Drops the superseded
    /// versions received so far.
    pub fn per_type(&mut self) -> Result<BTreeMap<ContentType, usize>, FetchError> {
        Ok(self.dedupe()?.per_type.clone())
    }

    /// Keeps the newest version of each id received (the later one of equal versions, as
    /// [`Version::replaces`] says), sorted by type then id.
    fn dedupe(&mut self) -> Result<&Kept, FetchError> {
        if self.kept.is_none() {
            let mut kept = Kept {
                sort: self.new_sort("kept")?,
                per_type: BTreeMap::new(),
                drafts: false,
            };
            let fresh = self.new_sort("by-id")?;
            let by_id = std::mem::replace(&mut self.by_id, fresh);
            let mut by_id = by_id.finish().map_err(|e| self.sort_error(e))?;
            let mut newest: Option<(Vec<u8>, Vec<u8>)> = None;
            let mut keep = |record: Option<(Vec<u8>, Vec<u8>)>| -> Result<(), SortError> {
                let Some((id, value)) = record else {
                    return Ok(());
                };
                let content_type = ContentType::ALL[usize::from(value[RANK])];
                *kept.per_type.entry(content_type).or_default() += 1;
                kept.drafts |= value[DRAFT] != 0;
                let mut key = Vec::with_capacity(1 + id.len());
                key.push(value[RANK]);
                key.extend_from_slice(&id);
                kept.sort.push(&key, &value)
            };
            while let Some((id, value)) = by_id.next_record().map_err(|e| self.sort_error(e))? {
                match &newest {
                    // Version bytes compare as versions do: newer or equal replaces.
                    Some((kept_id, kept)) if *kept_id == id => {
                        if value[VERSION] >= kept[VERSION] {
                            newest = Some((id, value));
                        }
                    }
                    _ => keep(newest.replace((id, value))).map_err(|e| self.sort_error(e))?,
                }
            }
            keep(newest).map_err(|e| self.sort_error(e))?;
            self.kept = Some(kept);
        }
        Ok(self.kept.as_ref().expect("deduped above"))
    }

    /// Puts the kept items back into the sort by id, for items that arrive after
    /// [`SnapshotWriter::per_type`]: they are older than anything added later.
    fn undo_dedupe(&mut self) -> Result<(), FetchError> {
        let Some(kept) = self.kept.take() else {
            return Ok(());
        };
        let mut sorted = kept.sort.finish().map_err(|e| self.sort_error(e))?;
        while let Some((key, value)) = sorted.next_record().map_err(|e| self.sort_error(e))? {
            self.by_id
                .push(&key[1..], &value)
                .map_err(|e| self.sort_error(e))?;
        }
        Ok(())
    }

    /// Writes the snapshot: the newest version of each id, sorted by type then id, under a
    /// header for `endpoint`, `filters` and `fetched_at`, renamed into place at the end.
    pub fn finish(
        mut self,
        endpoint: &str,
        filters: &Filters,
        fetched_at: Timestamp,
    ) -> Result<SnapshotHeader, FetchError> {
        self.dedupe()?;
        let path = self.path.clone();
        let Kept {
            sort,
            per_type,
            drafts,
        } = self.kept.take().expect("deduped above");
        let mut spool = self
            .spool
            .into_inner()
            .map_err(|e| spool_error(&path, e.into_error()))?;
        let sort_error = |e| sort_error(&path, e);
        let mut header = SnapshotHeader {
            format: SNAPSHOT_FORMAT,
            schema_version: SCHEMA_VERSION,
            endpoint: endpoint.to_string(),
            filters: filters.clone(),
            fetched_at,
            count: per_type.values().sum(),
            includes_drafts: filters.includes_drafts() || drafts,
            // Known once every item is written: the file's header is completed then.
            digest: file::DIGEST_PLACEHOLDER.to_string(),
        };
        let mut out = file::Writer::begin(&path, &header)?;
        let mut digest = Canonical::default();
        let mut sorted = sort.finish().map_err(sort_error)?;
        let mut line = Vec::new();
        while let Some((key, value)) = sorted.next_record().map_err(sort_error)? {
            let content_type = ContentType::ALL[usize::from(key[0])];
            let id = std::str::from_utf8(&key[1..]).expect("ids are text");
            let offset = u64::from_le_bytes(value[OFFSET].try_into().expect("8 bytes"));
            let len = u32::from_le_bytes(value[LEN].try_into().expect("4 bytes"));
            digest.add(
                content_type,
                id,
                &format!("sha256:{}", hex::encode(&value[DIGEST])),
            );
            line.resize(len as usize, 0);
            spool
                .seek(SeekFrom::Start(offset))
                .and_then(|_| spool.read_exact(&mut line))
                .map_err(|e| {
                    FetchError::snapshot(
                        &path,
                        format!("cannot read its temporary spool file ({e})"),
                    )
                })?;
            out.item(&line)?;
        }
        header.digest = digest.finish();
        out.finish(&header.digest)?;
        Ok(header)
    }
}

/// An external sort in folder `n` of `scratch`, for the snapshot at `path`.
fn sort_in(
    path: &Path,
    scratch: &TempDir,
    n: usize,
    name: &'static str,
    limits: Limits,
) -> Result<ExternalSort, FetchError> {
    let dir = scratch.path().join(n.to_string());
    std::fs::create_dir(&dir).map_err(|e| scratch_error(path, e))?;
    Ok(ExternalSort::new(dir, name, limits))
}

fn scratch_error(path: &Path, e: std::io::Error) -> FetchError {
    FetchError::snapshot(
        path,
        format!("cannot create a temporary folder for sorting its items ({e})"),
    )
}

fn spool_error(path: &Path, e: std::io::Error) -> FetchError {
    FetchError::snapshot(
        path,
        format!("cannot write its temporary spool file ({e}); check the free space"),
    )
}

fn sort_error(path: &Path, e: SortError) -> FetchError {
    FetchError::snapshot(
        path,
        format!("cannot sort its items ({e}); check the free space of the temporary folder"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Snapshot;

    fn at(second: usize) -> Timestamp {
        format!("2026-03-01T00:{:02}:{:02}Z", second / 60 % 60, second % 60)
            .parse()
            .unwrap()
    }

    /// Items of every type; ids come again with newer, older and equal versions, some as
    /// drafts, one id under another type.
    fn received() -> Vec<UnifiedContent> {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/content/items.json");
        let fixture: Vec<UnifiedContent> =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        (0..300)
            .map(|i| {
                let mut item = fixture[i % fixture.len()].clone();
                // 60 ids in the first 170 items, 30 more after them.
                item.id = format!("id-{:03}", i * 37 % if i < 170 { 60 } else { 90 });
                item.title = format!("received {i}");
                item.updated_at = at(i % 7);
                item.synced_at = at(i % 11);
                if i % 13 == 0 {
                    item.status = ContentStatus::Draft;
                }
                item
            })
            .collect()
    }

    #[test]
    fn a_pull_whose_sorts_spill_writes_the_bytes_of_a_snapshot_built_in_memory() {
        let (filters, fetched_at) = (Filters::default(), at(0));
        let mut items = received();
        // The kept version of one id again, last: of equal versions the later wins.
        let mut tie = Snapshot::new("http://api", &filters, fetched_at, items.clone()).items[0]
            .content
            .clone();
        tie.title = "same version, later".into();
        items.push(tie);
        let dir = tempfile::tempdir().unwrap();
        let (memory, streamed) = (dir.path().join("memory.json"), dir.path().join("s.json"));
        let expected = Snapshot::new("http://api", &filters, fetched_at, items.clone());
        expected.write(&memory).unwrap();
        assert!(expected.header.includes_drafts && expected.header.count == 90);
        assert_eq!(expected.items[0].content.title, "same version, later");

        let mut writer = SnapshotWriter::create(&streamed).unwrap();
        // A few records per chunk, two runs merged at a time.
        writer.limits = Limits {
            chunk_bytes: 600,
            fan_in: 2,
        };
        writer.by_id = writer.new_sort("by-id").unwrap();
        let (first, second) = items.split_at(170);
        for page in first.chunks(7) {
            writer.add(page.to_vec()).unwrap();
        }
        let spilled = std::fs::read_dir(writer.scratch.path().join("2"))
            .unwrap()
            .count();
        assert!(spilled > 10, "the sort by id spilled {spilled} runs");
        let early = writer.per_type().unwrap();
        // Items after the counts go back through the sort by id with the kept ones.
        for page in second.chunks(7) {
            writer.add(page.to_vec()).unwrap();
        }
        let per_type = writer.per_type().unwrap();
        assert_eq!(early.values().sum::<usize>(), 60);
        let want: BTreeMap<ContentType, usize> = expected
            .per_type()
            .into_iter()
            .map(|(t, c)| (t, c.items))
            .collect();
        assert_eq!(per_type, want);
        let scratch = writer.scratch.path().to_path_buf();
        let header = writer.finish("http://api", &filters, fetched_at).unwrap();
        assert_eq!(header, expected.header);
        assert_eq!(
            std::fs::read(&streamed).unwrap(),
            std::fs::read(&memory).unwrap()
        );
        assert!(!scratch.exists(), "the scratch folder goes with the writer");
        assert_eq!(Snapshot::read(&streamed).unwrap(), expected);
    }
}
