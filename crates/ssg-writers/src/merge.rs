//! Which items the output holds, in output order: the newest received version of each id,
//! and the previous run's items (from its index) that this run did not receive.

use std::cmp::Ordering;
use std::io;
use std::path::{Path, PathBuf};

use crate::WriteError;
use crate::index::{IndexReader, PreviousIndex};
use crate::keys::{Key, META_LEN, TYPES, VERSION_LEN, id_print, is_tombstone};
use spill_sort::{ExternalSort, Limits, Sorted};

/// Every item of the output, in order, as [`Placements::next`] yields them.
pub(crate) struct Placements {
    /// This run's newest versions that are not tombstones, in output order.
    received: Sorted,
    next_received: Option<Key>,
    received_done: bool,
    /// The previous run's items, in output order.
    previous: Option<IndexReader>,
    next_previous: Option<Key>,
    /// Id prints of every id this run received, sorted, when there is a previous run: its
    /// versions of these go. A full run keeps none, so its memory does not grow with items.
    superseded: Superseded,
    /// Those of them whose newest version is a tombstone, sorted.
    gone: Vec<[u8; 16]>,
    scratch: PathBuf,
    /// The content types, by rank, whose items change in this run: received, or gone.
    pub(crate) dirty: [bool; TYPES],
    /// The length of each type's list file as the previous run wrote it, by rank.
    pub(crate) previous_list_len: [u64; TYPES],
}

/// Sorted id prints: they come out of the sort by id in order, so a `Vec` searched by halves
/// holds them in 16 bytes each, without a hash table's slack and its copy when it grows.
#[derive(Default)]
struct Superseded(Vec<[u8; 16]>);

impl Superseded {
    fn contains(&self, id: &str) -> bool {
        // Without a print to find, no id is hashed.
        !self.0.is_empty() && self.0.binary_search(&id_print(id)).is_ok()
    }
}

/// Places every item: `by_id` holds this run's items (`<meta><version><sort key>` by id
/// print), `index` the previous run's, if this run builds on it.
///
/// Received ids go through an external sort by id print to keep the newest version of each
/// (`Version` bytes compare as versions do; the later one on a tie, as `Version::replaces`
/// says), then through one by output order. The previous run's index is already in output
/// order and is merged as a stream, so memory holds only this run's id prints, and only when
/// there is such an index.
pub(crate) fn placements(
    by_id: ExternalSort,
    index: Option<&PreviousIndex>,
    sort_dir: &Path,
    limits: Limits,
) -> Result<Placements, WriteError> {
    let mut placed = ExternalSort::new(sort_dir.to_path_buf(), "placed", limits);
    let mut superseded = Superseded::default();
    let mut gone = Vec::new();
    let mut dirty = [false; TYPES];
    let mut by_id = by_id.finish()?;
    let mut current: Option<Vec<u8>> = None;
    let mut newest: Option<Vec<u8>> = None;
    let mut place = |newest: Option<Vec<u8>>, print: Option<&Vec<u8>>| {
        let (Some(record), Some(print)) = (newest, print) else {
            return Ok::<(), WriteError>(());
        };
        let (meta, rest) = record.split_at(META_LEN);
        let sort_key = &rest[VERSION_LEN..];
        let deleted = is_tombstone(meta);
        if index.is_some() {
            let print: [u8; 16] = print
                .as_slice()
                .try_into()
                .map_err(|_| undecodable(sort_dir))?;
            superseded.0.push(print);
            if deleted {
                gone.push(print);
            }
        }
        let rank = usize::from(*sort_key.first().ok_or_else(|| undecodable(sort_dir))?);
        *dirty.get_mut(rank).ok_or_else(|| undecodable(sort_dir))? = true;
        if !deleted {
            placed.push(sort_key, meta)?;
        }
        Ok(())
    };
    while let Some((print, record)) = by_id.next_record()? {
        if record.len() < META_LEN + VERSION_LEN + 1 {
            return Err(undecodable(sort_dir));
        }
        if current.as_ref() != Some(&print) {
            place(newest.take(), current.as_ref())?;
            current = Some(print);
        }
        if newest.as_deref().is_none_or(|best| {
            record[META_LEN..META_LEN + VERSION_LEN] >= best[META_LEN..META_LEN + VERSION_LEN]
        }) {
            newest = Some(record);
        }
    }
    place(newest, current.as_ref())?;
    drop(by_id);

    let mut previous_list_len = [0; TYPES];
    let previous = match index {
        None => None,
        Some(index) => {
            // A first pass finds the types that change, before any of their files is written:
            // those that lose an item this run received under another type, or a tombstone.
            let lists = index.scan(&mut |rank, id| {
                if !dirty[rank] && superseded.contains(id) {
                    dirty[rank] = true;
                }
            })?;
            for (rank, len) in previous_list_len.iter_mut().enumerate() {
                *len = lists.list_len(rank);
            }
            Some(index.reader()?)
        }
    };
    Ok(Placements {
        received: placed.finish()?,
        next_received: None,
        received_done: false,
        previous,
        next_previous: None,
        superseded,
        gone,
        scratch: sort_dir.to_path_buf(),
        dirty,
        previous_list_len,
    })
}

impl Placements {
    /// The prints of the ids this run received as tombstones, sorted, when it builds on a
    /// previous run: the output no longer holds them.
    pub(crate) fn gone(&self) -> &[[u8; 16]] {
        &self.gone
    }

    /// The next item of the output.
    pub(crate) fn next(&mut self) -> Result<Option<Key>, WriteError> {
        if self.next_received.is_none() && !self.received_done {
            match self.received.next_record()? {
                Some((sort_key, meta)) => {
                    self.next_received = Some(
                        Key::decode(&sort_key, &meta).ok_or_else(|| undecodable(&self.scratch))?,
                    );
                }
                None => self.received_done = true,
            }
        }
        if self.next_previous.is_none()
            && let Some(previous) = &mut self.previous
        {
            loop {
                match previous.next()? {
                    Some(key) if self.superseded.contains(key.id()) => continue,
                    Some(key) => {
                        self.next_previous = Some(key);
                        break;
                    }
                    None => {
                        self.previous = None;
                        break;
                    }
                }
            }
        }
        let take_received = match (&self.next_received, &self.next_previous) {
            (Some(r), Some(p)) => r.cmp_order(p) != Ordering::Greater,
            (r, _) => r.is_some(),
        };
        Ok(if take_received {
            self.next_received.take()
        } else {
            self.next_previous.take()
        })
    }
}

/// A record of the run's own sort files that does not decode: the scratch folder was changed
/// under the run.
pub(crate) fn undecodable(sort_dir: &Path) -> WriteError {
    WriteError::io(
        "read",
        sort_dir,
        io::Error::new(
            io::ErrorKind::InvalidData,
            "a sort record does not decode; something changed the run's scratch files, run again",
        ),
    )
}
