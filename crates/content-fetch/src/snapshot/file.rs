//! The snapshot file as a stream: written item by item into a temporary file that is renamed
//! into place, and read item by item with every check, so neither needs the items in memory.
//! A writer that knows the digest only at the end writes it over a placeholder in the header.
//!
//! The layout is one JSON object, `{"header": {...}, "items": [...]}`, the header first and
//! one item per line. Files written as one pretty-printed object by earlier versions read the
//! same way.

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;
use unified_content::{ContentStatus, ContentType, SCHEMA_VERSION, content_digest};

use super::{SNAPSHOT_FORMAT, SnapshotHeader, SnapshotItem, temp};
use crate::error::FetchError;

/// The overall digest: SHA-256 over every item's type, id and digest, in file order.
#[derive(Default)]
pub(super) struct Canonical(Sha256);

impl Canonical {
    pub(super) fn add(&mut self, content_type: ContentType, id: &str, digest: &str) {
        self.0.update(content_type.as_str());
        self.0.update(b"\t");
        self.0.update(id.as_bytes());
        self.0.update(b"\t");
        self.0.update(digest.as_bytes());
        self.0.update(b"\n");
    }

    pub(super) fn finish(self) -> String {
        format!("sha256:{}", hex::encode(self.0.finalize()))
    }
}

/// A header digest of the right length, for a header whose digest is known only once every
/// item is written: [`Writer::finish`] writes the real one over it.
pub(super) const DIGEST_PLACEHOLDER: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// A snapshot file being written item by item into a temporary file beside its path, renamed
/// into place by [`Writer::finish`]: a failed or killed write never leaves a partial file.
pub(super) struct Writer<'a> {
    path: &'a Path,
    out: BufWriter<NamedTempFile>,
    /// Where the header's digest starts in the file.
    digest_at: u64,
    items: usize,
}

impl<'a> Writer<'a> {
    /// Writes `header` (its digest may be [`DIGEST_PLACEHOLDER`]) into a new temporary file.
    pub(super) fn begin(path: &'a Path, header: &SnapshotHeader) -> Result<Writer<'a>, FetchError> {
        let mut head = b"{\"header\": ".to_vec();
        serde_json::to_writer_pretty(&mut head, header).expect("a header always serializes");
        // The digest is the header's last field, so the last match is the field itself.
        let digest_at = head
            .windows(header.digest.len())
            .rposition(|w| w == header.digest.as_bytes())
            .expect("the header holds its digest") as u64;
        head.extend_from_slice(b",\n\"items\": [");
        let mut out = BufWriter::with_capacity(1 << 16, temp::create(path, 0o666)?);
        out.write_all(&head).map_err(|e| write_failed(path, e))?;
        Ok(Writer {
            path,
            out,
            digest_at,
            items: 0,
        })
    }

    /// Adds one item's JSON, a line of its own.
    pub(super) fn item(&mut self, json: &[u8]) -> Result<(), FetchError> {
        let sep: &[u8] = if self.items == 0 { b"\n" } else { b",\n" };
        self.items += 1;
        self.out
            .write_all(sep)
            .and_then(|()| self.out.write_all(json))
            .map_err(|e| write_failed(self.path, e))
    }

    /// Ends the file, writes `digest` into its header (as long as the one given to
    /// [`Writer::begin`]), and renames it into place.
    pub(super) fn finish(mut self, digest: &str) -> Result<(), FetchError> {
        let path = self.path;
        self.out
            .write_all(b"\n]}\n")
            .map_err(|e| write_failed(path, e))?;
        let mut temp = self
            .out
            .into_inner()
            .map_err(|e| write_failed(path, e.into_error()))?;
        temp.seek(SeekFrom::Start(self.digest_at))
            .and_then(|_| temp.write_all(digest.as_bytes()))
            .and_then(|()| temp.as_file().sync_all())
            .map_err(|e| write_failed(path, e))?;
        temp.persist(path).map_err(|e| {
            FetchError::snapshot(
                path,
                format!(
                    "cannot move it into place ({}); check the folder exists and is writable",
                    e.error
                ),
            )
        })?;
        Ok(())
    }
}

fn write_failed(path: &Path, e: io::Error) -> FetchError {
    FetchError::snapshot(
        path,
        format!("cannot write it ({e}); check the folder exists and is writable"),
    )
}

/// Reads the snapshot at `path` as a stream. `on_header` sees the header (format and schema
/// checked) before any item; `on_item` sees each item once its digest, order and draft status
/// are checked. The count and overall digest are checked at the end, so a run must not
/// treat what it was given as complete until this returns `Ok`.
pub(crate) fn read(
    path: &Path,
    on_header: &mut dyn FnMut(&SnapshotHeader) -> Result<(), FetchError>,
    on_item: &mut dyn FnMut(SnapshotItem) -> Result<(), FetchError>,
) -> Result<SnapshotHeader, FetchError> {
    let file = File::open(path)
        .map_err(|e| FetchError::snapshot(path, format!("cannot read it ({e}); check the path")))?;
    let mut failure = None;
    let mut tally = Tally::default();
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(1 << 16, file));
    let visitor = FileVisitor {
        path,
        on_header,
        on_item,
        failure: &mut failure,
        tally: &mut tally,
    };
    let header = de::Deserializer::deserialize_map(&mut de, visitor)
        .and_then(|header| de.end().map(|()| header));
    let header = match (header, failure) {
        (_, Some(failure)) => return Err(failure),
        (Err(e), None) => {
            return Err(FetchError::snapshot(
                path,
                format!(
                    "not a content-fetch snapshot ({e}); pull one with `content-fetch snapshot pull --out FILE`"
                ),
            ));
        }
        (Ok(header), None) => header,
    };
    if header.count != tally.count {
        return Err(FetchError::snapshot(
            path,
            format!(
                "header says {} items but it holds {}; the file was cut or edited, pull it again",
                header.count, tally.count
            ),
        ));
    }
    if tally.digest.finish() != header.digest {
        return Err(FetchError::snapshot(
            path,
            "its digest does not match its items; the file was edited, pull it again",
        ));
    }
    Ok(header)
}

/// What the checks of the items so far have seen.
#[derive(Default)]
struct Tally {
    count: usize,
    digest: Canonical,
    last: Option<(ContentType, String)>,
}

impl Tally {
    fn check(
        &mut self,
        path: &Path,
        header: &SnapshotHeader,
        item: &SnapshotItem,
    ) -> Result<(), FetchError> {
        let content = &item.content;
        let edited = |what: &str| {
            FetchError::snapshot(
                path,
                format!(
                    "item '{}' {what}; the file was edited, pull it again",
                    content.id
                ),
            )
        };
        if content_digest(content) != item.digest {
            return Err(edited("does not match its digest"));
        }
        if self
            .last
            .as_ref()
            .is_some_and(|(t, id)| (content.content_type, content.id.as_str()) < (*t, id.as_str()))
        {
            return Err(edited(
                "is out of order (items are sorted by type, then id)",
            ));
        }
        if content.status == ContentStatus::Draft && !header.includes_drafts {
            return Err(edited("is a draft but the header says there are none"));
        }
        self.count += 1;
        self.digest
            .add(content.content_type, &content.id, &item.digest);
        self.last = Some((content.content_type, content.id.clone()));
        Ok(())
    }
}

/// Reads the top-level object: the header, then the items through [`ItemsSeed`]. A callback's
/// error is kept in `failure` and stops the parse.
struct FileVisitor<'a> {
    path: &'a Path,
    on_header: &'a mut dyn FnMut(&SnapshotHeader) -> Result<(), FetchError>,
    on_item: &'a mut dyn FnMut(SnapshotItem) -> Result<(), FetchError>,
    failure: &'a mut Option<FetchError>,
    tally: &'a mut Tally,
}

impl<'de> Visitor<'de> for FileVisitor<'_> {
    type Value = SnapshotHeader;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with a header, then items")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SnapshotHeader, A::Error> {
        let mut header: Option<SnapshotHeader> = None;
        let mut items = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "header" => {
                    let h: SnapshotHeader = map.next_value()?;
                    if h.format != SNAPSHOT_FORMAT || h.schema_version != SCHEMA_VERSION {
                        *self.failure = Some(FetchError::snapshot(
                            self.path,
                            format!(
                                "format {} / schema {} but this content-fetch reads format {SNAPSHOT_FORMAT} / schema {SCHEMA_VERSION}; pull a new snapshot",
                                h.format, h.schema_version
                            ),
                        ));
                        return Err(de::Error::custom("stopped"));
                    }
                    if let Err(e) = (self.on_header)(&h) {
                        *self.failure = Some(e);
                        return Err(de::Error::custom("stopped"));
                    }
                    header = Some(h);
                }
                "items" => {
                    let Some(h) = &header else {
                        return Err(de::Error::custom("the header must come before the items"));
                    };
                    map.next_value_seed(ItemsSeed {
                        path: self.path,
                        header: h,
                        on_item: &mut *self.on_item,
                        failure: &mut *self.failure,
                        tally: &mut *self.tally,
                    })?;
                    items = true;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match header {
            Some(h) if items => Ok(h),
            Some(_) => Err(de::Error::missing_field("items")),
            None => Err(de::Error::missing_field("header")),
        }
    }
}

/// Reads the items array one item at a time.
struct ItemsSeed<'a> {
    path: &'a Path,
    header: &'a SnapshotHeader,
    on_item: &'a mut dyn FnMut(SnapshotItem) -> Result<(), FetchError>,
    failure: &'a mut Option<FetchError>,
    tally: &'a mut Tally,
}

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of items")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<SnapshotItem>()? {
            let checked = self
                .tally
                .check(self.path, self.header, &item)
                .and_then(|()| (self.on_item)(item));
            if let Err(e) = checked {
                *self.failure = Some(e);
                return Err(de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}
