//! Snapshots: what a run fetched, saved with a header so that builds can run offline.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use unified_content::{
    ContentStatus, ContentType, SCHEMA_VERSION, Timestamp, UnifiedContent, content_digest,
};

use crate::error::FetchError;
use crate::fetch::Filters;

/// The version of the snapshot file layout.
pub const SNAPSHOT_FORMAT: u32 = 1;

/// What a snapshot holds and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotHeader {
    /// The file layout version, [`SNAPSHOT_FORMAT`].
    pub format: u32,
    /// The model's [`SCHEMA_VERSION`] the items follow.
    pub schema_version: u32,
    /// The API the items were fetched from.
    pub endpoint: String,
    /// The filters of the run.
    pub filters: Filters,
    /// When the run finished.
    pub fetched_at: Timestamp,
    /// How many items the snapshot holds.
    pub count: usize,
    /// Whether drafts are in it: such a preview snapshot never passes for a production one.
    pub includes_drafts: bool,
    /// The SHA-256 over every item's type, id and digest in order, as `sha256:<hex>`.
    pub digest: String,
}

/// One item with its own digest, usable as an SSG cache key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotItem {
    /// [`content_digest`] of the item.
    pub digest: String,
    /// The item.
    pub content: UnifiedContent,
}

/// A saved run: header and items sorted by content type then id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// What the snapshot holds.
    pub header: SnapshotHeader,
    /// The items.
    pub items: Vec<SnapshotItem>,
}

/// Counts of one content type in a snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TypeCounts {
    /// All items.
    pub items: usize,
    /// Published items.
    pub published: usize,
    /// Drafts.
    pub drafts: usize,
    /// Archived items.
    pub archived: usize,
    /// Tombstones.
    pub deleted: usize,
}

/// An item named in a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffEntry {
    /// Its type.
    pub content_type: ContentType,
    /// Its id.
    pub id: String,
}

/// How two snapshots differ, by item id and digest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SnapshotDiff {
    /// Items only in the second.
    pub added: Vec<DiffEntry>,
    /// Items in both whose digests differ.
    pub changed: Vec<DiffEntry>,
    /// Items only in the first.
    pub removed: Vec<DiffEntry>,
}

impl SnapshotDiff {
    /// Whether the snapshots hold the same items.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }
}

impl std::fmt::Display for SnapshotDiff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (mark, list) in [
            ("+", &self.added),
            ("~", &self.changed),
            ("-", &self.removed),
        ] {
            for e in list {
                writeln!(f, "{mark} {} {}", e.content_type, e.id)?;
            }
        }
        write!(
            f,
            "{} added, {} changed, {} removed",
            self.added.len(),
            self.changed.len(),
            self.removed.len()
        )
    }
}

fn canonical_digest(items: &[SnapshotItem]) -> String {
    let mut hasher = Sha256::new();
    for item in items {
        hasher.update(item.content.content_type.as_str());
        hasher.update(b"\t");
        hasher.update(item.content.id.as_bytes());
        hasher.update(b"\t");
        hasher.update(item.digest.as_bytes());
        hasher.update(b"\n");
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

impl Snapshot {
    /// A snapshot of `items` fetched from `endpoint` with `filters`, finished at `fetched_at`.
    pub fn new(
        endpoint: &str,
        filters: &Filters,
        fetched_at: Timestamp,
        mut items: Vec<UnifiedContent>,
    ) -> Snapshot {
        items.sort_by(|a, b| (a.content_type, &a.id).cmp(&(b.content_type, &b.id)));
        let includes_drafts =
            filters.includes_drafts() || items.iter().any(|i| i.status == ContentStatus::Draft);
        let items: Vec<SnapshotItem> = items
            .into_iter()
            .map(|content| SnapshotItem {
                digest: content_digest(&content),
                content,
            })
            .collect();
        Snapshot {
            header: SnapshotHeader {
                format: SNAPSHOT_FORMAT,
                schema_version: SCHEMA_VERSION,
                endpoint: endpoint.to_string(),
                filters: filters.clone(),
                fetched_at,
                count: items.len(),
                includes_drafts,
                digest: canonical_digest(&items),
            },
            items,
        }
    }

    /// Reads a snapshot and checks its format, schema version, count and digests.
    pub fn read(path: &Path) -> Result<Snapshot, FetchError> {
        let bytes = std::fs::read(path).map_err(|e| {
            FetchError::snapshot(path, format!("cannot read it ({e}); check the path"))
        })?;
        let snapshot: Snapshot = serde_json::from_slice(&bytes).map_err(|e| {
            FetchError::snapshot(
                path,
                format!("not a content-fetch snapshot ({e}); pull one with `content-fetch snapshot pull --out FILE`"),
            )
        })?;
        let header = &snapshot.header;
        if header.format != SNAPSHOT_FORMAT || header.schema_version != SCHEMA_VERSION {
            return Err(FetchError::snapshot(
                path,
                format!(
                    "format {} / schema {} but this content-fetch reads format {SNAPSHOT_FORMAT} / schema {SCHEMA_VERSION}; pull a new snapshot",
                    header.format, header.schema_version
                ),
            ));
        }
        if header.count != snapshot.items.len() {
            return Err(FetchError::snapshot(
                path,
                format!(
                    "header says {} items but it holds {}; the file was cut or edited, pull it again",
                    header.count,
                    snapshot.items.len()
                ),
            ));
        }
        if let Some(bad) = snapshot
            .items
            .iter()
            .find(|i| content_digest(&i.content) != i.digest)
        {
            return Err(FetchError::snapshot(
                path,
                format!(
                    "item '{}' does not match its digest; the file was edited, pull it again",
                    bad.content.id
                ),
            ));
        }
        if canonical_digest(&snapshot.items) != header.digest {
            return Err(FetchError::snapshot(
                path,
                "its digest does not match its items; the file was edited, pull it again",
            ));
        }
        Ok(snapshot)
    }

    /// Writes the snapshot as pretty JSON next to `path`, then renames it into place, so a
    /// failed write never leaves a partial file.
    pub fn write(&self, path: &Path) -> Result<(), FetchError> {
        let fail = |what: &str, e: std::io::Error| {
            FetchError::snapshot(
                path,
                format!("cannot {what} ({e}); check the folder exists and is writable"),
            )
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .ok_or_else(|| FetchError::snapshot(path, "it names no file"))?;
        let aside = dir.join(format!(
            ".{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let result = (|| {
            let file = std::fs::File::create(&aside).map_err(|e| fail("create it", e))?;
            let mut out = std::io::BufWriter::new(file);
            serde_json::to_writer_pretty(&mut out, self).map_err(|e| fail("write it", e.into()))?;
            out.write_all(b"\n").map_err(|e| fail("write it", e))?;
            let file = out
                .into_inner()
                .map_err(|e| fail("write it", e.into_error()))?;
            file.sync_all().map_err(|e| fail("write it", e))?;
            std::fs::rename(&aside, path).map_err(|e| fail("move it into place", e))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&aside);
        }
        result
    }

    /// How long ago the snapshot was fetched.
    pub fn age(&self) -> Duration {
        (chrono::Utc::now() - self.header.fetched_at)
            .to_std()
            .unwrap_or(Duration::ZERO)
    }

    /// Counts per content type.
    pub fn per_type(&self) -> BTreeMap<ContentType, TypeCounts> {
        let mut counts: BTreeMap<ContentType, TypeCounts> = BTreeMap::new();
        for item in &self.items {
            let c = counts.entry(item.content.content_type).or_default();
            c.items += 1;
            match item.content.status {
                ContentStatus::Draft => c.drafts += 1,
                ContentStatus::Published => c.published += 1,
                ContentStatus::Archived => c.archived += 1,
                ContentStatus::Deleted => c.deleted += 1,
            }
        }
        counts
    }

    /// The header and a table of counts per type, for people.
    pub fn show(&self) -> String {
        let h = &self.header;
        let mut out = String::new();
        let _ = writeln!(out, "endpoint:        {}", h.endpoint);
        let _ = writeln!(
            out,
            "fetched at:      {}",
            h.fetched_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        let _ = writeln!(out, "schema version:  {}", h.schema_version);
        let _ = writeln!(out, "includes drafts: {}", h.includes_drafts);
        let _ = writeln!(out, "digest:          {}", h.digest);
        let _ = writeln!(
            out,
            "filters:         {}",
            serde_json::to_string(&h.filters).expect("filters always serialize")
        );
        let _ = writeln!(
            out,
            "\n{:<12} {:>7} {:>9} {:>7} {:>8} {:>7}",
            "type", "items", "published", "drafts", "archived", "deleted"
        );
        let mut total = TypeCounts::default();
        let rows = self.per_type();
        for (t, c) in &rows {
            let _ = writeln!(
                out,
                "{:<12} {:>7} {:>9} {:>7} {:>8} {:>7}",
                t.plural(),
                c.items,
                c.published,
                c.drafts,
                c.archived,
                c.deleted
            );
            total.items += c.items;
            total.published += c.published;
            total.drafts += c.drafts;
            total.archived += c.archived;
            total.deleted += c.deleted;
        }
        let _ = write!(
            out,
            "{:<12} {:>7} {:>9} {:>7} {:>8} {:>7}",
            "total", total.items, total.published, total.drafts, total.archived, total.deleted
        );
        out
    }

    /// What changed from `self` to `newer`, by id and item digest.
    pub fn diff(&self, newer: &Snapshot) -> SnapshotDiff {
        let index = |s: &Snapshot| -> BTreeMap<(ContentType, String), String> {
            s.items
                .iter()
                .map(|i| {
                    (
                        (i.content.content_type, i.content.id.clone()),
                        i.digest.clone(),
                    )
                })
                .collect()
        };
        let (old, new) = (index(self), index(newer));
        let entry = |(t, id): &(ContentType, String)| DiffEntry {
            content_type: *t,
            id: id.clone(),
        };
        let mut diff = SnapshotDiff::default();
        for (key, digest) in &new {
            match old.get(key) {
                None => diff.added.push(entry(key)),
                Some(d) if d != digest => diff.changed.push(entry(key)),
                Some(_) => {}
            }
        }
        diff.removed = old
            .keys()
            .filter(|k| !new.contains_key(*k))
            .map(entry)
            .collect();
        diff
    }
}
