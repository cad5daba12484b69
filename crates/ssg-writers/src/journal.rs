//! Applying a run's changes to the output folder file by file, so that a run costs what
//! changed, and finishing that work after a crash.
//!
//! A run writes every changed file into its staging folder beside the output folder and, as
//! it goes, a journal of what to do: rename a staged file into place, delete a file an earlier
//! run wrote, create a folder, move a state file into the state folder, remove a state file
//! no longer needed. The journal is written
//! aside and renamed into the state folder in one step: that is the commit. Then it is applied
//! and removed. A run killed before the commit leaves the output as it was (its staging folder
//! is abandoned and removed by the next run); a run killed while applying leaves every file
//! whole, old or new, and the next run replays the journal before anything else. Every
//! operation can be replayed: a rename whose source is gone is done, a delete of a missing file
//! is done. A top folder that the output does not have yet (a first run) is moved in whole,
//! one rename for all its files.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::WriteError;
use crate::paths::join_inside;

/// The committed journal, in the state folder.
const JOURNAL_FILE: &str = "journal";
const HEADER: &str = "content-fetch journal 1";
const END: &[u8] = b"\nend\n";

/// The staging folder of run `id` writing into `out`: beside it, so that renames stay on one
/// file system.
pub(crate) fn staging_dir(out: &Path, id: &str) -> Result<PathBuf, WriteError> {
    Ok(out.with_file_name(format!("{}{id}", staging_prefix(out)?)))
}

/// The name every staging folder of `out` starts with.
fn staging_prefix(out: &Path) -> Result<String, WriteError> {
    let name = out
        .file_name()
        .ok_or_else(|| WriteError::OutputFolder {
            path: out.to_path_buf(),
            reason: "it has no folder name (it is a root or ends in ..)",
        })?
        .to_string_lossy();
    Ok(format!(".{name}.content-fetch-staging-"))
}

/// The scratch folder of run `id` in the state folder: spool, sorts, the next state.
pub(crate) fn run_dir(state: &Path, id: &str) -> PathBuf {
    state.join(format!("run-{id}"))
}

/// The journal of one run, being written.
pub(crate) struct Journal {
    file: BufWriter<File>,
    path: PathBuf,
    folders: Vec<String>,
    /// Files of the output folder this journal deletes.
    pub(crate) deletes: usize,
}

impl Journal {
    /// Starts the journal of run `id` in its run folder.
    pub(crate) fn create(run_dir: &Path, id: &str) -> Result<Journal, WriteError> {
        let path = run_dir.join("journal.partial");
        let file = File::create(&path).map_err(|e| WriteError::io("create", &path, e))?;
        let mut journal = Journal {
            file: BufWriter::new(file),
            path,
            folders: Vec::new(),
            deletes: 0,
        };
        journal.line(HEADER, id)?;
        Ok(journal)
    }

    fn line(&mut self, op: &str, arg: &str) -> Result<(), WriteError> {
        writeln!(self.file, "{op}\t{arg}").map_err(|e| WriteError::io("write", &self.path, e))
    }

    /// The staged file `rel` replaces the output's.
    pub(crate) fn rename(&mut self, rel: &str) -> Result<(), WriteError> {
        self.line("R", rel)
    }

    /// The output's file `rel` goes.
    pub(crate) fn delete(&mut self, rel: &str) -> Result<(), WriteError> {
        self.deletes += 1;
        self.line("D", rel)
    }

    /// The output has the folder `rel`, even when it holds nothing.
    pub(crate) fn folder(&mut self, rel: &str) {
        self.folders.push(rel.to_string());
    }

    /// Writes the remaining operations (move `state_files` from the run folder into `state`,
    /// then remove its `stale` files), then moves the journal into `state`: from here on the
    /// run's changes are certain to be applied, now or by the next run.
    pub(crate) fn commit(
        mut self,
        state: &Path,
        state_files: &[&str],
        stale: &[String],
    ) -> Result<(), WriteError> {
        // Folders after deletes, which remove folders they empty.
        for folder in std::mem::take(&mut self.folders) {
            self.line("M", &folder)?;
        }
        for name in state_files {
            self.line("S", name)?;
        }
        for name in stale {
            self.line("X", name)?;
        }
        self.file
            .write_all(&END[1..])
            .and_then(|()| self.file.flush())
            .and_then(|()| self.file.get_ref().sync_all())
            .map_err(|e| WriteError::io("write", &self.path, e))?;
        let to = state.join(JOURNAL_FILE);
        std::fs::rename(&self.path, &to).map_err(|e| WriteError::io("commit", &to, e))
    }
}

/// Applies the committed journal of `state`, if any, to `out`, then removes it with the run's
/// staging and run folders.
pub(crate) fn apply(state: &Path, out: &Path) -> Result<(), WriteError> {
    let path = state.join(JOURNAL_FILE);
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(WriteError::io("read", &path, e)),
    };
    let fail = |e: io::Error| WriteError::io("apply the journal", &path, e);
    let mut tail = [0; END.len()];
    let complete = file
        .seek(SeekFrom::End(-(END.len() as i64)))
        .and_then(|_| file.read_exact(&mut tail))
        .is_ok()
        && tail == END;
    file.seek(SeekFrom::Start(0)).map_err(fail)?;
    let mut lines = BufReader::new(file).lines();
    let header = lines.next().transpose().map_err(fail)?.unwrap_or_default();
    let id = match header.split_once('\t') {
        Some((HEADER, id)) if complete => id.to_string(),
        // Never renamed into place unfinished; something else wrote it.
        _ => return Err(fail(io::Error::other("not a complete journal"))),
    };
    let (staging, run) = (staging_dir(out, &id)?, run_dir(state, &id));
    let mut folders = Folders::default();
    for line in lines {
        let line = line.map_err(fail)?;
        let Some((op, arg)) = line.split_once('\t') else {
            continue;
        };
        match op {
            "R" if folders.moved(&staging, out, arg).map_err(fail)? => {}
            "R" => rename(&join_inside(&staging, arg), &join_inside(out, arg)).map_err(fail)?,
            "D" => {
                let gone = join_inside(out, arg);
                match std::fs::remove_file(&gone) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(fail(e)),
                    _ => {}
                }
                // A folder the run's files were in goes when it is empty; a folder that still
                // holds anything (another file, the user's) refuses and stays.
                if let Some(parent) = gone.parent().filter(|p| *p != out) {
                    let _ = std::fs::remove_dir(parent);
                }
            }
            "M" => std::fs::create_dir_all(join_inside(out, arg)).map_err(fail)?,
            "S" => {
                let from = run.join(arg);
                if from.exists() {
                    std::fs::rename(&from, state.join(arg)).map_err(fail)?;
                }
            }
            "X" => match std::fs::remove_file(join_inside(state, arg)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(fail(e)),
                _ => {}
            },
            _ => {}
        }
    }
    std::fs::remove_file(&path).map_err(fail)?;
    remove_tree(&staging).map_err(fail)?;
    remove_tree(&run).map_err(fail)
}

/// The top folders of the output that one application of a journal moved whole.
#[derive(Default)]
struct Folders {
    /// Each top folder asked about, and whether it was moved.
    asked: Vec<(String, bool)>,
}

impl Folders {
    /// Whether the staged file `rel` is in place because its whole top folder was: the first
    /// time a top folder is asked about, it is moved in one rename when the output has no
    /// such folder. A staging folder holds only files its journal renames (a file found
    /// unchanged is never staged, or is removed), so the move is those renames at once, and
    /// the output had nothing there to keep. A replay finds the folder in the output and
    /// renames file by file, finding each one done.
    fn moved(&mut self, staging: &Path, out: &Path, rel: &str) -> io::Result<bool> {
        let Some((top, _)) = rel.split_once('/') else {
            return Ok(false);
        };
        if let Some((_, moved)) = self.asked.iter().find(|(t, _)| t == top) {
            return Ok(*moved);
        }
        let (from, to) = (join_inside(staging, top), join_inside(out, top));
        let moved = match std::fs::symlink_metadata(&to) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                std::fs::create_dir_all(out)?;
                // Refused when the folder appeared meanwhile (not empty): file by file, then.
                std::fs::rename(&from, &to).is_ok()
            }
            _ => false,
        };
        self.asked.push((top.to_string(), moved));
        Ok(moved)
    }
}

/// Renames the staged file `from` to `to`: one syscall when the target folder exists. A
/// source that is gone was renamed by an earlier application.
fn rename(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::rename(from, to) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if std::fs::symlink_metadata(from).is_err() {
                return Ok(());
            }
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::rename(from, to)
        }
        other => other,
    }
}

/// Finishes a committed journal of a run that died, then removes what runs that died before
/// their commit left: their staging and run folders. Called with the lock held, so no other
/// run is using them.
pub(crate) fn recover(state: &Path, out: &Path) -> Result<(), WriteError> {
    apply(state, out)?;
    let prefix = staging_prefix(out)?;
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty());
    let parent = parent.unwrap_or(Path::new("."));
    let name = out.file_name().unwrap_or_default().to_string_lossy();
    // Earlier versions' fixed staging folder, and the old tree their swap set aside.
    let legacy_staging = format!(".{name}.content-fetch-staging");
    let legacy_backup = out.with_file_name(format!(".{name}.content-fetch-previous"));
    if legacy_backup.exists() {
        let result = if out.exists() {
            remove_tree(&legacy_backup)
        } else {
            std::fs::rename(&legacy_backup, out)
        };
        result.map_err(|e| WriteError::io("recover", &legacy_backup, e))?;
    }
    remove_matching(parent, |n| n.starts_with(&prefix) || n == legacy_staging)?;
    remove_matching(state, |n| n.starts_with("run-"))
}

/// Removes every entry of `dir` whose name is `abandoned`.
fn remove_matching(dir: &Path, abandoned: impl Fn(&str) -> bool) -> Result<(), WriteError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(WriteError::io("read folder", dir, e)),
    };
    for entry in entries.flatten() {
        if abandoned(&entry.file_name().to_string_lossy()) {
            remove_tree(&entry.path()).map_err(|e| WriteError::io("remove", entry.path(), e))?;
        }
    }
    Ok(())
}

/// Removes a folder tree; a folder that is already gone is fine.
pub(crate) fn remove_tree(path: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn read(path: &Path) -> Option<String> {
        std::fs::read_to_string(path).ok()
    }

    /// A journal into an output without the staged files' top folder moves that folder
    /// whole; cut short after the move, recovery finds every file in place. A folder that
    /// the output has (here with the user's file in it) is renamed into file by file.
    #[test]
    fn a_top_folder_the_output_lacks_moves_whole_and_replays() {
        let rels = [
            "products/a.json",
            "products/b.json",
            "pages/c.json",
            "index.ts",
        ];
        for killed_after_move in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let (out, state) = (dir.path().join("out"), dir.path().join("state"));
            write(&out.join("pages/mine.txt"), "the user's");
            let id = "8-1";
            let (staging, run) = (staging_dir(&out, id).unwrap(), run_dir(&state, id));
            for rel in rels {
                write(&staging.join(rel), rel);
            }
            std::fs::create_dir_all(&run).unwrap();
            let mut journal = Journal::create(&run, id).unwrap();
            for rel in rels {
                journal.rename(rel).unwrap();
            }
            journal.commit(&state, &[], &[]).unwrap();
            #[cfg(unix)]
            let staged_folder = std::os::unix::fs::MetadataExt::ino(
                &std::fs::metadata(staging.join("products")).unwrap(),
            );
            if killed_after_move {
                std::fs::rename(staging.join("products"), out.join("products")).unwrap();
                recover(&state, &out).unwrap();
            } else {
                apply(&state, &out).unwrap();
            }
            for rel in rels {
                assert_eq!(read(&out.join(rel)).as_deref(), Some(rel), "{rel}");
            }
            assert_eq!(
                read(&out.join("pages/mine.txt")).as_deref(),
                Some("the user's")
            );
            #[cfg(unix)]
            assert_eq!(
                std::os::unix::fs::MetadataExt::ino(
                    &std::fs::metadata(out.join("products")).unwrap()
                ),
                staged_folder,
                "the folder itself moved"
            );
            assert!(!state.join(JOURNAL_FILE).exists() && !staging.exists() && !run.exists());
        }
    }

    /// A committed journal whose run was killed after `applied` of its operations is finished
    /// by the next run's recovery, whatever `applied` is.
    #[test]
    fn a_journal_cut_short_anywhere_is_finished_by_recovery() {
        for applied in 0..=4 {
            let dir = tempfile::tempdir().unwrap();
            let (out, state) = (dir.path().join("out"), dir.path().join("state"));
            write(&out.join("products/old.json"), "old");
            write(&out.join("products/kept.json"), "kept");
            write(&out.join("articles/gone.json"), "gone");
            write(&out.join("mine.txt"), "the user's");
            let id = "7-1";
            let (staging, run) = (staging_dir(&out, id).unwrap(), run_dir(&state, id));
            write(&staging.join("products/old.json"), "new");
            write(&staging.join("products/fresh.json"), "fresh");
            write(&run.join("state.json"), "{}");
            let mut journal = Journal::create(&run, id).unwrap();
            journal.rename("products/old.json").unwrap();
            journal.rename("products/fresh.json").unwrap();
            journal.delete("articles/gone.json").unwrap();
            journal.folder("pages");
            write(&state.join("items-0.jsonl"), "{}");
            journal
                .commit(&state, &["state.json"], &["items-0.jsonl".into()])
                .unwrap();

            // The killed run got this far.
            let ops: [&dyn Fn(); 4] = [
                &|| {
                    std::fs::rename(
                        staging.join("products/old.json"),
                        out.join("products/old.json"),
                    )
                    .unwrap()
                },
                &|| {
                    std::fs::rename(
                        staging.join("products/fresh.json"),
                        out.join("products/fresh.json"),
                    )
                    .unwrap()
                },
                &|| std::fs::remove_file(out.join("articles/gone.json")).unwrap(),
                &|| std::fs::rename(run.join("state.json"), state.join("state.json")).unwrap(),
            ];
            ops.iter().take(applied).for_each(|op| op());

            recover(&state, &out).unwrap();
            assert_eq!(read(&out.join("products/old.json")).as_deref(), Some("new"));
            assert_eq!(
                read(&out.join("products/fresh.json")).as_deref(),
                Some("fresh")
            );
            assert_eq!(
                read(&out.join("products/kept.json")).as_deref(),
                Some("kept")
            );
            assert_eq!(read(&out.join("mine.txt")).as_deref(), Some("the user's"));
            assert!(!out.join("articles").exists(), "an emptied folder goes");
            assert!(out.join("pages").is_dir());
            assert_eq!(read(&state.join("state.json")).as_deref(), Some("{}"));
            assert!(
                !state.join("items-0.jsonl").exists(),
                "a stale segment goes"
            );
            assert!(!state.join(JOURNAL_FILE).exists() && !staging.exists() && !run.exists());
        }
    }
}
