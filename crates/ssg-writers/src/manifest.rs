//! The list of the files in the output folder that runs wrote: the next run's
//! [`crate::state::Owned`] list.
//!
//! A full run writes it whole (`files.txt`, the base). An incremental run writes only a delta
//! (`files.<n>.txt`): `+<path>` for a file it added, `-<path>` for one it removed; the newest
//! delta naming a path says whether the output holds it. When the deltas grow past
//! [`Deltas::due`], a run writes a new base instead and removes them.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::WriteError;
use crate::deltas::{Deltas, Kind};

/// The base of the list, in the state folder.
pub(crate) const FILES_FILE: &str = "files.txt";

/// The files earlier runs wrote: a base and its deltas.
pub(crate) struct Manifest {
    base: PathBuf,
    /// The deltas' numbers and how many lines they hold.
    deltas: Deltas,
    /// Whether the output holds each path the deltas name, as the newest of them says.
    /// Deltas stay small, so this does too.
    changes: BTreeMap<String, bool>,
}

impl Manifest {
    /// The list in the state folder `dir` (empty when no run wrote one).
    pub(crate) fn open(dir: &Path) -> Result<Manifest, WriteError> {
        let mut manifest = Manifest {
            base: dir.join(FILES_FILE),
            deltas: Deltas::new(Kind::Files),
            changes: BTreeMap::new(),
        };
        for n in Kind::Files.listed(dir) {
            let entries = manifest.read_delta(&dir.join(Kind::Files.delta(n)))?;
            manifest.deltas.push(n, entries);
        }
        Ok(manifest)
    }

    /// Reads the delta at `path` as the newest; returns how many lines it holds.
    fn read_delta(&mut self, path: &Path) -> Result<usize, WriteError> {
        let mut entries = 0;
        each_line(path, &mut |line| {
            entries += 1;
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
        Ok(entries)
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
        self.deltas.next()
    }

    /// The names of the deltas in the state folder.
    pub(crate) fn delta_names(&self) -> impl Iterator<Item = String> + '_ {
        self.deltas.names()
    }

    /// Settles the delta of this run at `path` (numbered [`Manifest::next_delta`], holding
    /// `entries` lines) over a list of `files` files, as [`Deltas::settle`] says: a compaction
    /// writes the whole list as a new base at `base`.
    pub(crate) fn settle(
        mut self,
        path: &Path,
        entries: usize,
        files: usize,
        base: &Path,
    ) -> Result<(Vec<String>, Vec<String>), WriteError> {
        let deltas = std::mem::replace(&mut self.deltas, Deltas::new(Kind::Files));
        deltas.settle(entries, files, || {
            self.read_delta(path)?;
            let file = File::create(base).map_err(|e| WriteError::io("create", base, e))?;
            let mut file = BufWriter::new(file);
            self.each(&mut |rel| {
                writeln!(file, "{rel}").map_err(|e| WriteError::io("write", base, e))
            })?;
            file.flush().map_err(|e| WriteError::io("write", base, e))
        })
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
