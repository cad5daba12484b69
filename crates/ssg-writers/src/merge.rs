//! Which items the output holds, in output order: the newest received version of each id,
//! and the previous run's items that this run did not receive.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use crate::WriteError;
use crate::external_sort::{ExternalSort, Limits, Sorted};
use crate::keys::{META_LEN, Placement, Source, VERSION_LEN, Written, id_print};
use crate::paths::suffixed_slug;

/// The sorted placement of every item the output will hold: the previous run's items (from
/// `cache`) not superseded in this run, plus the newest version of each id received in this
/// run (already in `by_id`) unless it is a tombstone.
///
/// Two external sorts keep memory flat: one by id print (this run's items, then the previous
/// run's) picks what stays, one by type, slug and id orders it.
pub(crate) fn placements(
    mut by_id: ExternalSort,
    cache: Option<&Path>,
    sort_dir: &Path,
    limits: Limits,
) -> Result<Sorted, WriteError> {
    if let Some(path) = cache {
        push_cached(&mut by_id, path)?;
    }
    let mut placed = ExternalSort::new(sort_dir.to_path_buf(), "placed", limits);
    // The records of one id print arrive together: this run's versions in arrival order,
    // then the previous run's (pushed last, and the sort is stable). The newest received
    // version wins (`Version` bytes compare as versions do; the later one on a tie, as
    // `Version::replaces` says); any received version supersedes the previous run's item.
    let mut by_id = by_id.finish()?;
    let mut current: Option<Vec<u8>> = None;
    let mut newest: Option<Vec<u8>> = None;
    while let Some((print, record)) = by_id.next()? {
        if current.as_ref() != Some(&print) {
            place_received(&mut placed, newest.take())?;
            current = Some(print);
        }
        let from_previous = record.first() == Some(&(Source::Cache as u8));
        let least = if from_previous {
            META_LEN
        } else {
            META_LEN + VERSION_LEN
        };
        if record.len() < least {
            return Err(undecodable(sort_dir));
        }
        if from_previous {
            // Kept unless this run received the id.
            if newest.is_none() {
                let (meta, sort_key) = record.split_at(META_LEN);
                placed.push(sort_key, meta)?;
            }
            continue;
        }
        if newest.as_deref().is_none_or(|best| {
            record[META_LEN..META_LEN + VERSION_LEN] >= best[META_LEN..META_LEN + VERSION_LEN]
        }) {
            newest = Some(record);
        }
    }
    place_received(&mut placed, newest)?;
    drop(by_id);
    placed.finish()
}

/// Pushes the placement of every line of the previous run's item cache
/// (`<slug written>\t<item JSON>`).
fn push_cached(by_id: &mut ExternalSort, path: &Path) -> Result<(), WriteError> {
    let file = File::open(path).map_err(|e| WriteError::io("read", path, e))?;
    let mut reader = BufReader::new(file);
    let mut offset = 0u64;
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|e| WriteError::io("read", path, e))?;
        if n == 0 {
            return Ok(());
        }
        let state_error = |message: String| WriteError::State {
            path: path.to_path_buf(),
            message,
        };
        let (written_as, json) = line
            .trim_end()
            .split_once('\t')
            .ok_or_else(|| state_error("a line without a slug".into()))?;
        let p: Placement = serde_json::from_str(json).map_err(|e| state_error(e.to_string()))?;
        let mut key = crate::keys::Key::new(p.content_type, &p.slug, &p.id);
        key.source = Source::Cache;
        key.offset = offset + written_as.len() as u64 + 1;
        key.len = json.len() as u32;
        key.written = if written_as == key.slug() {
            Written::Plain
        } else if written_as == suffixed_slug(key.slug(), key.id()) {
            Written::Suffixed
        } else {
            Written::Unknown
        };
        by_id.push(&id_print(&p.id), &key.record(None))?;
        offset += n as u64;
    }
}

/// Places the newest version of an id received in this run (`<meta><version><sort key>`),
/// unless it is a tombstone.
fn place_received(placed: &mut ExternalSort, newest: Option<Vec<u8>>) -> Result<(), WriteError> {
    let Some(record) = newest else {
        return Ok(());
    };
    let (meta, rest) = record.split_at(META_LEN);
    // `meta[1]` is the tombstone flag.
    if meta[1] == 0 {
        placed.push(&rest[VERSION_LEN..], meta)?;
    }
    Ok(())
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
