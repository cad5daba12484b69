//! The list of the files in the output folder that runs wrote: the next run's
//! [`crate::state::Owned`] list.
//!
//! A full run writes it whole (`files.txt`, the base). An incremental run writes only a delta
//! (`files.<n>.txt`): `+<path>` for a file it added, `-<path>` for one it removed; the newest
//! delta naming a path says whether the output holds it. When the deltas grow past
//! [`compaction_due`], a run writes a new base instead and removes them.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::WriteError;
use crate::index::{compaction_due, numbered};

/// The base of the list, in the state folder.
pub(crate) const FILES_FILE: &str = "files.txt";

/// The delta `n` of the list.
pub(crate) fn delta_name(n: u32) -> String {
    format!("files.{n}.txt")
}

/// The files earlier runs wrote: a base and its deltas.
pub(crate) struct Manifest {
    base: PathBuf,
    /// The deltas' numbers, oldest first.
    deltas: Vec<u32>,
    /// Whether the output holds each path the deltas name, as the newest of them says.
    /// Deltas stay small, so this does too.
    changes: BTreeMap<String, bool>,
    /// Lines in the deltas.
    delta_entries: usize,
}

impl Manifest {
    /// The list in the state folder `dir` (empty when no run wrote one).
    pub(crate) fn open(dir: &Path) -> Result<Manifest, WriteError> {
        let mut manifest = Manifest {
            base: dir.join(FILES_FILE),
            deltas: Vec::new(),
            changes: BTreeMap::new(),
            delta_entries: 0,
        };
        for n in numbered(dir, "files.", ".txt") {
            manifest.add_delta(n, &dir.join(delta_name(n)))?;
        }
        Ok(manifest)
    }

    /// Adds the delta `n` at `path` as the newest.
    fn add_delta(&mut self, n: u32, path: &Path) -> Result<(), WriteError> {
        each_line(path, &mut |line| {
            self.delta_entries += 1;
            let (held, rel) = match line.split_at_checked(1) {
                Some(("+", rel)) => (true, rel),
                Some(("-", rel)) => (false, rel),
                // Not `WriteError::State`, which advises a full sync: full runs read this list
                // too, to touch only the files runs wrote, so they would fail the same way.
                _ => {
                    let message = format!(
                        "a line neither adds nor removes a file: {line:?}; this list says which files of the output content-fetch wrote, so no run goes on without it: restore it, or remove the state folder (the output's files are then someone else's)"
                    );
                    let e = io::Error::new(io::ErrorKind::InvalidData, message);
                    return Err(WriteError::io("read", path, e));
                }
            };
            self.changes.insert(rel.to_string(), held);
            Ok(())
        })?;
        self.deltas.push(n);
        Ok(())
    }

    /// Calls `f` with every file of the list.
    pub(crate) fn each(
        &self,
        f: &mut dyn FnMut(&str) -> Result<(), WriteError>,
    ) -> Result<(), WriteError> {
        each_line(
            &self.base,
            &mut |rel| match self.changes.contains_key(rel) {
                true => Ok(()),
                false => f(rel),
            },
        )?;
        for (rel, held) in &self.changes {
            if *held {
                f(rel)?;
            }
        }
        Ok(())
    }

    /// The number of the next delta.
    pub(crate) fn next_delta(&self) -> u32 {
        self.deltas.last().map_or(0, |n| n + 1)
    }

    /// The names of the deltas in the state folder.
    pub(crate) fn delta_names(&self) -> impl Iterator<Item = String> + '_ {
        self.deltas.iter().map(|n| delta_name(*n))
    }

    /// Settles the delta of this run at `path`, numbered [`Manifest::next_delta`], holding
    /// `entries` lines, over a list of `files` files. Returns the files of the run folder to
    /// move into the state folder and those of the state folder to remove: the delta; or,
    /// past [`compaction_due`], a new base written beside it at `base`, and every delta.
    pub(crate) fn settle(
        mut self,
        path: &Path,
        entries: usize,
        files: usize,
        base: &Path,
    ) -> Result<(Vec<String>, Vec<String>), WriteError> {
        if entries == 0 {
            return Ok((Vec::new(), Vec::new()));
        }
        let (deltas, total) = (self.deltas.len() + 1, self.delta_entries + entries);
        if !compaction_due(deltas, total, files) {
            return Ok((vec![delta_name(self.next_delta())], Vec::new()));
        }
        let stale = self.delta_names().collect();
        self.add_delta(self.next_delta(), path)?;
        let file = File::create(base).map_err(|e| WriteError::io("create", base, e))?;
        let mut file = BufWriter::new(file);
        self.each(&mut |rel| {
            writeln!(file, "{rel}").map_err(|e| WriteError::io("write", base, e))
        })?;
        file.flush().map_err(|e| WriteError::io("write", base, e))?;
        Ok((vec![FILES_FILE.to_string()], stale))
    }
}

/// Calls `f` with every line of `path`; a missing file has none.
pub(crate) fn each_line(
    path: &Path,
    f: &mut dyn FnMut(&str) -> Result<(), WriteError>,
) -> Result<(), WriteError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(WriteError::io("read", path, e)),
    };
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| WriteError::io("read", path, e))?;
        if !line.is_empty() {
            f(&line)?;
        }
    }
    Ok(())
}
