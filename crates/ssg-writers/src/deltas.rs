//! The base-plus-deltas layout of a state file. A full run (or a compaction) writes the base
//! whole; an incremental run that changed something writes one numbered delta beside it, so
//! that it writes what changed, never a file the size of the catalogue. Once the deltas grow
//! past [`Deltas::due`], a run writes a new base instead and the deltas go. The index
//! ([`crate::index`]) and the list of files ([`crate::manifest`]) keep their changes this way.

use std::path::Path;

use crate::WriteError;

/// Deltas at most, of the index or of the file list, before a run compacts them.
const MAX_DELTAS: usize = 32;
/// Delta entries that never call for a compaction, however small the base.
const MIN_COMPACTED: usize = 64;

/// Which state file a set of deltas belongs to.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// The index, `index.jsonl` and `index.<n>.jsonl`.
    Index,
    /// The list of files, `files.txt` and `files.<n>.txt`.
    Files,
}

impl Kind {
    /// The prefix and suffix around a delta's number.
    fn parts(self) -> (&'static str, &'static str) {
        match self {
            Kind::Index => ("index.", ".jsonl"),
            Kind::Files => ("files.", ".txt"),
        }
    }

    /// The name of the base.
    pub(crate) fn base(self) -> &'static str {
        match self {
            Kind::Index => crate::index::INDEX_FILE,
            Kind::Files => crate::manifest::FILES_FILE,
        }
    }

    /// The name of the delta `n`.
    pub(crate) fn delta(self, n: u32) -> String {
        let (prefix, suffix) = self.parts();
        format!("{prefix}{n}{suffix}")
    }

    /// The numbers of the deltas in the state folder `dir`, in order.
    pub(crate) fn listed(self, dir: &Path) -> Vec<u32> {
        let (prefix, suffix) = self.parts();
        numbered(dir, prefix, suffix)
    }
}

/// The numbers `n` of the files `<prefix><n><suffix>` in `dir`, in order.
pub(crate) fn numbered(dir: &Path, prefix: &str, suffix: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut numbers: Vec<u32> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_prefix(prefix)?
                .strip_suffix(suffix)?
                .parse()
                .ok()
        })
        .collect();
    numbers.sort_unstable();
    numbers
}

/// The deltas read so far over one base: their numbers and how many entries they hold.
pub(crate) struct Deltas {
    kind: Kind,
    /// Oldest first.
    numbers: Vec<u32>,
    entries: usize,
}

impl Deltas {
    /// No deltas yet.
    pub(crate) fn new(kind: Kind) -> Deltas {
        Deltas {
            kind,
            numbers: Vec::new(),
            entries: 0,
        }
    }

    /// Adds the delta `n`, holding `entries` entries, as the newest.
    pub(crate) fn push(&mut self, n: u32, entries: usize) {
        self.numbers.push(n);
        self.entries += entries;
    }

    /// The number of the next delta.
    pub(crate) fn next(&self) -> u32 {
        self.numbers.last().map_or(0, |n| n + 1)
    }

    /// The names of the deltas.
    pub(crate) fn names(&self) -> impl Iterator<Item = String> + '_ {
        self.numbers.iter().map(|n| self.kind.delta(*n))
    }

    /// Whether adding a delta of `entries` entries over a base of `base` entries calls for a
    /// compaction: past an eighth of the base, so that reading the deltas stays cheap and a
    /// compaction's cost, spread over the runs before it, stays within what those runs
    /// changed; or past [`MAX_DELTAS`] files.
    pub(crate) fn due(&self, entries: usize, base: usize) -> bool {
        self.numbers.len() + 1 > MAX_DELTAS || self.entries + entries > MIN_COMPACTED.max(base / 8)
    }

    /// Settles this run's delta, numbered [`Deltas::next`] and holding `entries` entries,
    /// over a base of `base` entries. Returns the files of the run folder to move into the
    /// state folder and those of the state folder to remove: nothing for an empty delta; the
    /// delta; or, when [`Deltas::due`], the new base that `compact` writes, and every delta.
    pub(crate) fn settle(
        self,
        entries: usize,
        base: usize,
        compact: impl FnOnce() -> Result<(), WriteError>,
    ) -> Result<(Vec<String>, Vec<String>), WriteError> {
        if entries == 0 {
            return Ok((Vec::new(), Vec::new()));
        }
        if !self.due(entries, base) {
            return Ok((vec![self.kind.delta(self.next())], Vec::new()));
        }
        compact()?;
        Ok((vec![self.kind.base().to_string()], self.names().collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "index.3.jsonl",
            "index.10.jsonl",
            "index.jsonl",
            "files.2.txt",
            "x.1.txt",
        ] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        assert_eq!(Kind::Index.listed(dir.path()), [3, 10]);
        assert_eq!(Kind::Files.listed(dir.path()), [2]);
        let mut deltas = Deltas::new(Kind::Index);
        assert_eq!(deltas.next(), 0);
        deltas.push(3, 1);
        deltas.push(10, 1);
        assert_eq!(deltas.next(), 11);
        assert_eq!(
            deltas.names().collect::<Vec<_>>(),
            ["index.3.jsonl", "index.10.jsonl"]
        );
        assert_eq!(Kind::Files.delta(4), "files.4.txt");
    }

    #[test]
    fn compaction_is_due_past_an_eighth_or_too_many_deltas() {
        let mut deltas = Deltas::new(Kind::Files);
        // At least 64 entries never compact, however small the base.
        assert!(!deltas.due(64, 0));
        assert!(deltas.due(65, 0));
        // Past an eighth of the base.
        assert!(!deltas.due(1000, 8000));
        assert!(deltas.due(1001, 8000));
        for n in 0..32 {
            deltas.push(n, 0);
        }
        // A 33rd delta.
        assert!(deltas.due(1, 1_000_000));
    }

    #[test]
    fn settle_moves_the_delta_or_compacts() {
        let settled = |deltas: Deltas, entries, compacted: &mut bool| {
            deltas
                .settle(entries, 100, || {
                    *compacted = true;
                    Ok(())
                })
                .unwrap()
        };
        let mut compacted = false;
        let mut deltas = Deltas::new(Kind::Index);
        deltas.push(0, 10);
        assert_eq!(settled(deltas, 0, &mut compacted), (vec![], vec![]));
        let mut deltas = Deltas::new(Kind::Index);
        deltas.push(0, 10);
        assert_eq!(
            settled(deltas, 5, &mut compacted),
            (vec!["index.1.jsonl".to_string()], vec![])
        );
        assert!(!compacted);
        let mut deltas = Deltas::new(Kind::Index);
        deltas.push(0, 60);
        assert_eq!(
            settled(deltas, 5, &mut compacted),
            (
                vec!["index.jsonl".to_string()],
                vec!["index.0.jsonl".to_string()]
            )
        );
        assert!(compacted);
    }
}
