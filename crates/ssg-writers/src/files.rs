//! The output files of one run: which are new or changed (staged and journaled), which stay
//! as they are, which earlier runs wrote and this one does not (deleted), and which belong to
//! someone else (never touched).

use std::collections::HashMap;
use std::fs::File;
use std::hash::BuildHasher;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::WriteError;
use crate::journal::Journal;
use crate::manifest::{FILES_FILE, each_line};
use crate::paths::join_inside;
use crate::state::Owned;
use spill_sort::ExternalSort;

/// The files of one run's output, as they are decided.
pub(crate) struct Files {
    out: PathBuf,
    staging: PathBuf,
    /// The output folder held nothing when the run began to write: no file in it to compare
    /// with or to protect (the lock keeps other runs out).
    empty: bool,
    journal: Journal,
    /// The next run's [`Owned`] list: every file this run's output holds, one per line; or,
    /// in an incremental run, the delta from the previous list (see [`crate::manifest`]).
    manifest: BufWriter<File>,
    manifest_path: PathBuf,
    delta: bool,
    /// Lines in the delta.
    delta_entries: usize,
    /// Prints of the files this run's output holds, to find two items mapping to one file and
    /// the files to delete: sorted and checked at the commit. Through an external sort (big
    /// endian, so bytes sort as numbers), so memory stays flat: a `Vec` of them was 8 MiB at
    /// a million files. A collision can only keep a stale file, never delete one.
    claimed: ExternalSort,
    owned: Owned,
    /// Prints of the files earlier runs wrote, sorted, when they are listed (and, from the
    /// commit on, of every file of an earlier version's output).
    owned_prints: Vec<u64>,
    /// Prints of the names of the regular files in each output folder asked about, sorted:
    /// one listing of a folder instead of a `stat` per kept file (that was half of an
    /// incremental run at 100,000 items). A collision can only leave a missing file missing.
    listed: HashMap<String, Vec<u64>>,
    /// Files written (new or changed), unchanged, and bytes written.
    pub(crate) written: usize,
    pub(crate) unchanged: usize,
    pub(crate) bytes: u64,
}

/// A file name's print: only ever compared within one run, never stored past it. A fixed
/// seed's foldhash: SipHash cost 4% of an incremental run.
fn print(rel: &str) -> u64 {
    foldhash::quality::FixedState::default().hash_one(rel)
}

impl Files {
    /// The files of a run writing `out` through `staging`, with its list of files in
    /// `run_dir`, knowing which files earlier runs wrote. An `incremental` run over a listed
    /// output writes only a delta of that list.
    pub(crate) fn new(
        out: &Path,
        staging: &Path,
        journal: Journal,
        run_dir: &Path,
        owned: Owned,
        incremental: bool,
        claimed: ExternalSort,
    ) -> Result<Files, WriteError> {
        let mut owned_prints = Vec::new();
        let mut delta = None;
        if let Owned::Listed(list) = &owned {
            list.each(&mut |rel| {
                owned_prints.push(print(rel));
                Ok(())
            })?;
            delta = incremental.then(|| list.next_delta());
        }
        owned_prints.sort_unstable();
        let manifest_path = run_dir.join(match delta {
            Some(n) => crate::deltas::Kind::Files.delta(n),
            None => FILES_FILE.to_string(),
        });
        let manifest = File::create(&manifest_path)
            .map_err(|e| WriteError::io("create", &manifest_path, e))?;
        let empty = match std::fs::read_dir(out) {
            Ok(mut entries) => entries.next().is_none(),
            Err(e) => e.kind() == io::ErrorKind::NotFound,
        };
        Ok(Files {
            out: out.to_path_buf(),
            staging: staging.to_path_buf(),
            empty,
            journal,
            manifest: BufWriter::new(manifest),
            manifest_path,
            delta: delta.is_some(),
            delta_entries: 0,
            claimed,
            owned,
            owned_prints,
            listed: HashMap::new(),
            written: 0,
            unchanged: 0,
            bytes: 0,
        })
    }

    /// The output folder.
    pub(crate) fn out(&self) -> &Path {
        &self.out
    }

    /// The output has the folder `rel`, even when empty.
    pub(crate) fn folder(&mut self, rel: &str) -> Result<(), WriteError> {
        let dir = join_inside(&self.staging, rel);
        std::fs::create_dir_all(&dir).map_err(|e| WriteError::io("create", &dir, e))?;
        self.journal.folder(rel);
        Ok(())
    }

    /// Records `rel` as a file of this run's output, `staged` or kept as it is; a second item
    /// mapping to it fails the commit ([`Files::commit`]), before anything reaches the output.
    fn claim(&mut self, rel: &str, staged: bool) -> Result<(), WriteError> {
        let print = print(rel);
        self.claimed.push(&print.to_be_bytes(), &[])?;
        // A delta adds the files this run writes that no earlier run did: a file kept as it
        // is stays as listed (a file it did not write is never made this tool's).
        let written = match self.delta {
            false => writeln!(self.manifest, "{rel}"),
            true if !staged || self.owned_prints.binary_search(&print).is_ok() => return Ok(()),
            true => {
                self.delta_entries += 1;
                writeln!(self.manifest, "+{rel}")
            }
        };
        written.map_err(|e| WriteError::io("write", &self.manifest_path, e))
    }

    /// Refuses to replace a file at `rel` that no earlier run wrote.
    fn check_ours(&self, rel: &str) -> Result<(), WriteError> {
        let old = join_inside(&self.out, rel);
        let ours = match self.owned {
            Owned::Everything => true,
            Owned::Listed(_) => self.owned_prints.binary_search(&print(rel)).is_ok(),
        };
        if !ours && !self.empty && std::fs::symlink_metadata(&old).is_ok() {
            return Err(WriteError::ForeignFile { path: old });
        }
        Ok(())
    }

    /// The file `rel` holds `bytes`: staged when the output's differs, else left as it is
    /// (modification time included).
    pub(crate) fn put(&mut self, rel: &str, bytes: &[u8]) -> Result<(), WriteError> {
        let staged = self.stager().stage(rel, bytes)?;
        self.record(rel, staged)
    }

    /// What stages files for this run, from any thread; [`Files::record`] each file it staged,
    /// in output order.
    pub(crate) fn stager(&self) -> Stager {
        Stager {
            out: self.out.clone(),
            staging: self.staging.clone(),
            empty: self.empty,
        }
    }

    /// Records the file `rel` that a [`Stager`] staged (or found unchanged).
    pub(crate) fn record(&mut self, rel: &str, staged: Staged) -> Result<(), WriteError> {
        self.claim(rel, matches!(staged, Staged::Written(_)))?;
        match staged {
            Staged::Unchanged => self.unchanged += 1,
            Staged::Written(len) => {
                self.check_ours(rel)?;
                self.journal.rename(rel)?;
                self.written += 1;
                self.bytes += len;
            }
        }
        Ok(())
    }

    /// Keeps the output's file `rel` as it is, without rendering it, when it is there.
    pub(crate) fn keep(&mut self, rel: &str) -> Result<bool, WriteError> {
        if !self.exists(rel) {
            return Ok(false);
        }
        self.keep_existing(rel)?;
        Ok(true)
    }

    /// Whether the output has the file `rel` (a regular file, or a link to one), as its
    /// folder was when first asked about in this run.
    pub(crate) fn exists(&mut self, rel: &str) -> bool {
        let (folder, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let wanted = print(name);
        // Looked up by `&str` first (one hash per file): a folder's name is copied once, not
        // once per file.
        if let Some(names) = self.listed.get(folder) {
            return names.binary_search(&wanted).is_ok();
        }
        let dir = match folder {
            "" => self.out.clone(),
            folder => join_inside(&self.out, folder),
        };
        let mut names = regular_files(&dir);
        names.sort_unstable();
        let found = names.binary_search(&wanted).is_ok();
        self.listed.insert(folder.to_string(), names);
        found
    }

    /// Keeps the output's file `rel`, which [`Files::exists`] found, as it is.
    pub(crate) fn keep_existing(&mut self, rel: &str) -> Result<(), WriteError> {
        self.claim(rel, false)?;
        self.unchanged += 1;
        Ok(())
    }

    /// Creates the staged file `rel`, for a file written as a stream; [`Files::settle`] it
    /// when complete.
    pub(crate) fn create(&self, rel: &str) -> Result<BufWriter<File>, WriteError> {
        let path = join_inside(&self.staging, rel);
        File::create(&path)
            .map(BufWriter::new)
            .map_err(|e| WriteError::io("create", &path, e))
    }

    /// After the staged file `rel` is complete: keeps the output's file instead when the bytes
    /// are equal.
    pub(crate) fn settle(&mut self, rel: &str) -> Result<(), WriteError> {
        let new = join_inside(&self.staging, rel);
        let same = same_bytes(&join_inside(&self.out, rel), &new);
        self.claim(rel, !same)?;
        if same {
            std::fs::remove_file(&new).map_err(|e| WriteError::io("remove", &new, e))?;
            self.unchanged += 1;
            return Ok(());
        }
        self.check_ours(rel)?;
        let len = std::fs::metadata(&new)
            .map_err(|e| WriteError::io("read", &new, e))?
            .len();
        self.journal.rename(rel)?;
        self.written += 1;
        self.bytes += len;
        Ok(())
    }

    /// Journals the deletion of every file earlier runs wrote that this run's output does not
    /// hold, then commits the journal with the state files to move into `state` (its list of
    /// files, then `state_files`) and the `stale` ones to remove from it. Returns how many
    /// output files go and the bytes of the state files moved.
    pub(crate) fn commit(
        mut self,
        state: &Path,
        state_files: Vec<String>,
        mut stale: Vec<String>,
    ) -> Result<(usize, u64), WriteError> {
        self.manifest
            .flush()
            .map_err(|e| WriteError::io("write", &self.manifest_path, e))?;
        // An output of an earlier version owns every file in it: its prints, as a list's.
        if matches!(self.owned, Owned::Everything) {
            each_file(&self.out, "", &mut |rel| {
                self.owned_prints.push(print(rel));
                Ok(())
            })?;
            self.owned_prints.sort_unstable();
        }
        // A run into an empty output skipped each file's check (nothing to protect); a file
        // that appeared there since is checked now, before the journal can rename over it.
        // (An earlier version's output holds its state file, so it is never empty: the two
        // walks never both run.)
        let mut appeared = Vec::new();
        if self.empty {
            each_file(&self.out, "", &mut |rel| {
                appeared.push(print(rel));
                Ok(())
            })?;
            appeared.sort_unstable();
        }
        // The owned files that this run's output does not hold, by print, found from the
        // sorted prints in one pass, which also finds a file claimed twice.
        let run_dir = self.manifest_path.parent().unwrap_or(Path::new("."));
        let mut claimed = self.claimed.finish()?;
        let mut gone = Vec::new();
        let mut foreign = None;
        let mut owned = self.owned_prints.iter().peekable();
        let (mut last, mut twice) = (None, None);
        while let Some((key, _)) = claimed.next_record()? {
            let bytes: [u8; 8] = key
                .as_slice()
                .try_into()
                .map_err(|_| crate::merge::undecodable(run_dir))?;
            let print = u64::from_be_bytes(bytes);
            if appeared.binary_search(&print).is_ok() {
                foreign = Some(print);
                break;
            }
            if last == Some(print) {
                twice = Some(print);
                break;
            }
            last = Some(print);
            while let Some(o) = owned.next_if(|o| **o < print) {
                gone.push(*o);
            }
            while owned.next_if(|o| **o == print).is_some() {}
        }
        drop(claimed);
        if let Some(foreign) = foreign {
            let mut path = None;
            each_file(&self.out, "", &mut |rel| {
                if path.is_none() && print(rel) == foreign {
                    path = Some(join_inside(&self.out, rel));
                }
                Ok(())
            })?;
            let path = path.unwrap_or_else(|| self.out.clone());
            return Err(WriteError::ForeignFile { path });
        }
        gone.extend(owned);
        if let Some(twice) = twice {
            let mut rel = String::new();
            let mut find = |r: &str| {
                if rel.is_empty() && print(r) == twice {
                    rel = r.to_string();
                }
                Ok(())
            };
            // A delta holds `+<path>` lines so far.
            let skip = usize::from(self.delta);
            each_line(&self.manifest_path, &mut |r| find(&r[skip..]))?;
            // A file kept from the previous run is in the previous list, or else in the output.
            if let Owned::Listed(list) = &self.owned
                && self.delta
            {
                list.each(&mut find)?;
                each_file(&self.out, "", &mut find)?;
            }
            return Err(WriteError::io(
                "write",
                join_inside(&self.out, &rel),
                io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "two items map to this file (a suffixed duplicate slug equals another item's slug); change one slug at the provider",
                ),
            ));
        }
        let journal = &mut self.journal;
        let (manifest, manifest_path) = (&mut self.manifest, &self.manifest_path);
        let (delta, delta_entries) = (self.delta, &mut self.delta_entries);
        let mut check = |rel: &str| {
            if gone.binary_search(&print(rel)).is_err() {
                return Ok(());
            }
            if delta {
                *delta_entries += 1;
                writeln!(manifest, "-{rel}")
                    .map_err(|e| WriteError::io("write", manifest_path, e))?;
            }
            journal.delete(rel)
        };
        // The list is read again only when some go.
        match &self.owned {
            _ if gone.is_empty() => {}
            Owned::Listed(list) => list.each(&mut check)?,
            Owned::Everything => each_file(&self.out, "", &mut check)?,
        }
        self.manifest
            .flush()
            .map_err(|e| WriteError::io("write", &self.manifest_path, e))?;
        let (mut moved, gone) = match self.owned {
            Owned::Listed(list) if self.delta => {
                let base = self.manifest_path.with_file_name(FILES_FILE);
                let files = self.owned_prints.len();
                list.settle(&self.manifest_path, self.delta_entries, files, &base)?
            }
            Owned::Listed(list) => (vec![FILES_FILE.to_string()], list.delta_names().collect()),
            Owned::Everything => (vec![FILES_FILE.to_string()], Vec::new()),
        };
        moved.extend(state_files);
        stale.extend(gone);
        let bytes = moved
            .iter()
            .filter_map(|name| std::fs::metadata(run_dir.join(name)).ok())
            .map(|m| m.len())
            .sum();
        let deletes = self.journal.deletes;
        let moved: Vec<&str> = moved.iter().map(String::as_str).collect();
        self.journal.commit(state, &moved, &stale)?;
        Ok((deletes, bytes))
    }
}

/// Stages the files of one run: writes a file into the staging folder when the output's
/// differs. It keeps no account, so render threads can share it; [`Files::record`] does.
#[derive(Clone)]
pub(crate) struct Stager {
    out: PathBuf,
    staging: PathBuf,
    /// The output folder held nothing when the run began to write: no file to compare with.
    empty: bool,
}

/// What [`Stager::stage`] did with a file.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Staged {
    /// The output's file holds the same bytes: it stays, modification time included.
    Unchanged,
    /// Staged, this many bytes.
    Written(u64),
}

impl Stager {
    /// Stages `bytes` as the file `rel`, unless the output's file holds them already.
    pub(crate) fn stage(&self, rel: &str, bytes: &[u8]) -> Result<Staged, WriteError> {
        let same = !self.empty && {
            let old = join_inside(&self.out, rel);
            std::fs::metadata(&old).is_ok_and(|m| m.len() == bytes.len() as u64)
                && std::fs::read(&old).is_ok_and(|b| b == bytes)
        };
        if same {
            return Ok(Staged::Unchanged);
        }
        let path = join_inside(&self.staging, rel);
        let written = match std::fs::write(&path, bytes) {
            // A folder not made yet (entry folders are made at the start).
            Err(e) if e.kind() == io::ErrorKind::NotFound => path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(&path, bytes)),
            other => other,
        };
        written.map_err(|e| WriteError::io("write", &path, e))?;
        Ok(Staged::Written(bytes.len() as u64))
    }
}

/// Calls `f` with the path (relative to the walk's start, `/`-separated) of every file under
/// `dir`.
fn each_file(
    dir: &Path,
    prefix: &str,
    f: &mut dyn FnMut(&str) -> Result<(), WriteError>,
) -> Result<(), WriteError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(WriteError::io("read folder", dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| WriteError::io("read folder", dir, e))?;
        let rel = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            each_file(&entry.path(), &format!("{rel}/"), f)?;
        } else {
            f(&rel)?;
        }
    }
    Ok(())
}

/// Prints of the names of the regular files in `dir` (links followed); none when it cannot
/// be read, so that every file in it is rendered again.
fn regular_files(dir: &Path) -> Vec<u64> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|entry| match entry.file_type() {
            Ok(t) if t.is_symlink() => std::fs::metadata(entry.path()).is_ok_and(|m| m.is_file()),
            Ok(t) => t.is_file(),
            Err(_) => false,
        })
        .filter_map(|entry| entry.file_name().to_str().map(print))
        .collect()
}

fn same_bytes(a: &Path, b: &Path) -> bool {
    let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) else {
        return false;
    };
    if ma.len() != mb.len() {
        return false;
    }
    let (Ok(fa), Ok(fb)) = (File::open(a), File::open(b)) else {
        return false;
    };
    let (mut ra, mut rb) = (BufReader::new(fa), BufReader::new(fb));
    let (mut ba, mut bb) = ([0u8; 64 * 1024], [0u8; 64 * 1024]);
    loop {
        let Ok(n) = ra.read(&mut ba) else {
            return false;
        };
        if n == 0 {
            return true;
        }
        if rb.read_exact(&mut bb[..n]).is_err() || ba[..n] != bb[..n] {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Manifest;
    use spill_sort::Limits;

    /// A run into an empty output skips each file's check while it renders; a user's file that
    /// appears at one of its paths meanwhile must still stop the commit, untouched.
    #[test]
    fn a_file_that_appears_in_an_empty_output_during_the_run_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (out, staging, run, state) = (
            dir.path().join("out"),
            dir.path().join("staging"),
            dir.path().join("run"),
            dir.path().join("state"),
        );
        for d in [&out, &staging, &run, &state, &run.join("sort")] {
            std::fs::create_dir(d).unwrap();
        }
        let mut files = Files::new(
            &out,
            &staging,
            Journal::create(&run, "test").unwrap(),
            &run,
            Owned::Listed(Manifest::open(&state).unwrap()),
            false,
            ExternalSort::new(run.join("sort"), "claimed", Limits::DEFAULT),
        )
        .unwrap();
        files.put("products/a.json", b"ours").unwrap();
        std::fs::create_dir(out.join("products")).unwrap();
        std::fs::write(out.join("products/a.json"), b"the user's").unwrap();
        let err = files.commit(&state, Vec::new(), Vec::new()).unwrap_err();
        assert!(
            matches!(&err, WriteError::ForeignFile { path } if path.ends_with("products/a.json")),
            "{err}"
        );
        assert!(!state.join("journal").exists(), "nothing is committed");
        assert_eq!(
            std::fs::read(out.join("products/a.json")).unwrap(),
            b"the user's"
        );
    }
}
