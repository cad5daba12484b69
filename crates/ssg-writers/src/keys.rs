//! Sort keys: where one item's line is, and how it sorts among the outputs.
//!
//! Keys go through external sorts as bytes ([`Key::sort_key`] and [`Key::meta`]), so memory
//! never holds one per item.

use sha2::{Digest, Sha256};
use unified_content::{ContentType, Version, slugify};

/// Where an item's line is: this run's spool, or a segment of the state folder that an
/// earlier run left.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Spool = 0,
    Cache = 1,
}

/// How the previous run named an item's files.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    /// Not in the previous run (or under a name that no longer applies).
    Unknown = 0,
    /// Under its safe slug.
    Plain = 1,
    /// Under its safe slug with the duplicate suffix.
    Suffixed = 2,
}

/// Where one item's line is and how it sorts.
pub(crate) struct Key {
    pub(crate) content_type: ContentType,
    /// `<safe slug>\0<id>`: one allocation, and sorting it sorts by slug then id, because a
    /// slug never holds NUL and NUL sorts before every slug character.
    order: Box<str>,
    pub(crate) source: Source,
    pub(crate) deleted: bool,
    pub(crate) written: Written,
    /// The segment file of the state folder that holds a [`Source::Cache`] item.
    pub(crate) segment: u32,
    pub(crate) offset: u64,
    pub(crate) len: u32,
    /// Where a [`Source::Cache`] item's fragment lies in its type's previous list file:
    /// offset and length.
    pub(crate) fragment: (u64, u32),
}

/// How many content types there are.
pub(crate) const TYPES: usize = ContentType::ALL.len();

/// The length of [`Key::meta`]: source, deleted, written, offset (8), len (4).
pub(crate) const META_LEN: usize = 15;

/// Whether a key's [`Key::meta`] bytes are a tombstone's.
pub(crate) fn is_tombstone(meta: &[u8]) -> bool {
    meta[1] != 0
}
/// The length of an encoded [`Version`], the one newest-wins order shared with snapshots.
pub(crate) const VERSION_LEN: usize = Version::BYTES;

impl Key {
    /// The key of a received item, under its safe slug.
    pub(crate) fn new(content_type: ContentType, slug: &str, id: &str) -> Key {
        Key::from_parts(content_type, &slugify(slug), id)
    }

    /// The key of an item whose slug is already safe.
    pub(crate) fn from_parts(content_type: ContentType, safe_slug: &str, id: &str) -> Key {
        // Joined by hand, sized once: `format!` costs a tenth of reading an index.
        let mut order = String::with_capacity(safe_slug.len() + 1 + id.len());
        for part in [safe_slug, "\0", id] {
            order.push_str(part);
        }
        Key {
            content_type,
            order: order.into_boxed_str(),
            source: Source::Spool,
            deleted: false,
            written: Written::Unknown,
            segment: 0,
            offset: 0,
            len: 0,
            fragment: (0, 0),
        }
    }

    pub(crate) fn slug(&self) -> &str {
        self.order.split_once('\0').map_or("", |(slug, _)| slug)
    }

    pub(crate) fn id(&self) -> &str {
        self.order.split_once('\0').map_or("", |(_, id)| id)
    }

    /// How `self` and `other` are ordered in the outputs: as their [`Key::sort_key`]s are.
    pub(crate) fn cmp_order(&self, other: &Key) -> std::cmp::Ordering {
        (self.content_type.rank(), self.order.as_bytes())
            .cmp(&(other.content_type.rank(), other.order.as_bytes()))
    }

    /// The bytes that sort keys as the outputs are ordered: the content type's rank, then
    /// `order` (slug, then id).
    pub(crate) fn sort_key(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(1 + self.order.len());
        bytes.push(self.content_type.rank());
        bytes.extend_from_slice(self.order.as_bytes());
        bytes
    }

    /// Everything but the sort key, in [`META_LEN`] bytes.
    pub(crate) fn meta(&self) -> [u8; META_LEN] {
        let mut meta = [0; META_LEN];
        meta[0] = self.source as u8;
        meta[1] = u8::from(self.deleted);
        meta[2] = self.written as u8;
        meta[3..11].copy_from_slice(&self.offset.to_le_bytes());
        meta[11..].copy_from_slice(&self.len.to_le_bytes());
        meta
    }

    /// `<meta><sort key>`, or `<meta><version><sort key>` with a version: one record of the
    /// sort by id.
    pub(crate) fn record(&self, version: Option<[u8; VERSION_LEN]>) -> Vec<u8> {
        let mut record = Vec::with_capacity(META_LEN + VERSION_LEN + 1 + self.order.len());
        record.extend_from_slice(&self.meta());
        if let Some(version) = version {
            record.extend_from_slice(&version);
        }
        record.extend_from_slice(&self.sort_key());
        record
    }

    /// The key that [`Key::sort_key`] and [`Key::meta`] encoded; `None` for other bytes.
    pub(crate) fn decode(sort_key: &[u8], meta: &[u8]) -> Option<Key> {
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
            deleted: is_tombstone(meta),
            written: match meta[2] {
                0 => Written::Unknown,
                1 => Written::Plain,
                2 => Written::Suffixed,
                _ => return None,
            },
            segment: 0,
            offset: u64::from_le_bytes(meta[3..11].try_into().ok()?),
            len: u32::from_le_bytes(meta[11..].try_into().ok()?),
            fragment: (0, 0),
        })
    }
}

/// A 128-bit fingerprint of an id: the fixed-size key that brings an id's versions together
/// in the run's sort by id, so that a later version can replace an earlier one.
pub(crate) fn id_print(id: &str) -> [u8; 16] {
    let digest = Sha256::digest(id.as_bytes());
    let mut print = [0; 16];
    print.copy_from_slice(&digest[..16]);
    print
}
