//! Snapshots: what a run fetched, saved with a header so that builds can run offline.
//!
//! A pull streams into a [`SnapshotWriter`] and a run reads the file as a stream
//! ([`file::read`]), so neither holds the items in memory.

mod file;
mod temp;
mod writer;

pub use writer::SnapshotWriter;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
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

impl SnapshotHeader {
    /// The header of a snapshot holding `items` (type, id, digest, status) in this order.
    fn new<'a, D: AsRef<str>>(
        endpoint: &str,
        filters: &Filters,
        fetched_at: Timestamp,
        items: impl Iterator<Item = (ContentType, &'a str, D, ContentStatus)>,
    ) -> SnapshotHeader {
        let mut digest = file::Canonical::default();
        let mut count = 0;
        let mut includes_drafts = filters.includes_drafts();
        for (content_type, id, item_digest, status) in items {
            digest.add(content_type, id, item_digest.as_ref());
            count += 1;
            includes_drafts |= status == ContentStatus::Draft;
        }
        SnapshotHeader {
            format: SNAPSHOT_FORMAT,
            schema_version: SCHEMA_VERSION,
            endpoint: endpoint.to_string(),
            filters: filters.clone(),
            fetched_at,
            count,
            includes_drafts,
            digest: digest.finish(),
        }
    }

    /// How long ago the snapshot was fetched.
    pub fn age(&self) -> Duration {
        (chrono::Utc::now() - self.fetched_at)
            .to_std()
            .unwrap_or(Duration::ZERO)
    }
}

/// Keeps the newest version of each id, as the engine writers pick it, then sorts by content
/// type and id (a snapshot's order). Versions of an id are compared in arrival order (the sort
/// by id is stable): a later one that [`Version::replaces`] the one kept wins.
fn keep_newest(items: &mut Vec<UnifiedContent>) {
    items.sort_by(|a, b| a.id.cmp(&b.id));
    items.dedup_by(|later, kept| {
        if later.id != kept.id {
            return false;
        }
        if later.version().replaces(kept.version()) {
            std::mem::swap(later, kept);
        }
        true
    });
    items.sort_unstable_by(|a, b| (a.content_type, &a.id).cmp(&(b.content_type, &b.id)));
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

impl Snapshot {
    /// A snapshot of `items` fetched from `endpoint` with `filters`, finished at `fetched_at`:
    /// the newest version of each id ([`unified_content::Version::replaces`], as the engine
    /// writers pick it), sorted by content type then id.
    pub fn new(
        endpoint: &str,
        filters: &Filters,
        fetched_at: Timestamp,
        mut items: Vec<UnifiedContent>,
    ) -> Snapshot {
        keep_newest(&mut items);
        let items: Vec<SnapshotItem> = items
            .into_iter()
            .map(|content| SnapshotItem {
                digest: content_digest(&content),
                content,
            })
            .collect();
        let header = SnapshotHeader::new(
            endpoint,
            filters,
            fetched_at,
            items.iter().map(|i| {
                (
                    i.content.content_type,
                    i.content.id.as_str(),
                    i.digest.as_str(),
                    i.content.status,
                )
            }),
        );
        Snapshot { header, items }
    }

    /// Reads a snapshot and checks its format, schema version, count, order and digests.
    /// This holds every item in memory; runs read snapshots as a stream instead.
    pub fn read(path: &Path) -> Result<Snapshot, FetchError> {
        let mut items = Vec::new();
        let header = stream(path, &mut |_| Ok(()), &mut |item| {
            items.push(item);
            Ok(())
        })?;
        Ok(Snapshot { header, items })
    }

    /// Reads a snapshot's header after checking the whole file as [`Snapshot::read`] does,
    /// holding one item at a time.
    pub fn check(path: &Path) -> Result<SnapshotHeader, FetchError> {
        stream(path, &mut |_| Ok(()), &mut |_| Ok(()))
    }

    /// Writes the snapshot into a temporary file beside `path`, then renames it into place,
    /// so a failed or killed write never leaves a partial file.
    pub fn write(&self, path: &Path) -> Result<(), FetchError> {
        let mut out = file::Writer::begin(path, &self.header)?;
        for item in &self.items {
            out.item(&serde_json::to_vec(item).expect("a snapshot item always serializes"))?;
        }
        out.finish(&self.header.digest)
    }

    /// How long ago the snapshot was fetched.
    pub fn age(&self) -> Duration {
        self.header.age()
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

/// The header of the snapshot at `path` (format and schema checked), read without its
/// items: a run checks the rest as it streams them.
pub(crate) fn header(path: &Path) -> Result<SnapshotHeader, FetchError> {
    let mut header = None;
    let read = stream(
        path,
        &mut |h| {
            header = Some(h.clone());
            // Stops the read: nothing past the header is wanted here.
            Err(FetchError::snapshot(path, "read up to its header"))
        },
        &mut |_| Ok(()),
    );
    match (header, read) {
        (Some(header), _) => Ok(header),
        (None, Err(e)) => Err(e),
        (None, Ok(header)) => Ok(header),
    }
}

/// Reads the snapshot at `path` as a stream, with every check of [`Snapshot::read`]:
/// `on_header` sees the header first, `on_item` each item once checked. The count and overall
/// digest are checked last, so what was read is complete only once this returns `Ok`.
pub(crate) fn stream(
    path: &Path,
    on_header: &mut dyn FnMut(&SnapshotHeader) -> Result<(), FetchError>,
    on_item: &mut dyn FnMut(SnapshotItem) -> Result<(), FetchError>,
) -> Result<SnapshotHeader, FetchError> {
    file::read(path, on_header, on_item)
}
