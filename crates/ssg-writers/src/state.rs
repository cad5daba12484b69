//! What a run keeps between runs, where, and who owns the output folder.
//!
//! The output folder holds only what the engine loads. Everything else lives in a state
//! folder outside it: `<site>/.content-fetch/<output folder relative to the site>/`, where
//! `<site>` is the nearest folder above the output folder that holds a `package.json` (every
//! engine's site has one), or else the output folder's parent. It holds:
//!
//! - `lock`: the advisory lock of the output folder; the pid of the run holding it;
//! - `state.json`: the engine, model version, templates digest and newest `synced_at`;
//! - `index.jsonl`: one line per item of the output, in output order: where its JSON is and
//!   how its files were written, the base of the next incremental run; `index.<n>.jsonl`:
//!   the deltas incremental runs wrote over it (see [`crate::index`]);
//! - `items-<n>.jsonl`: segments, the items one run received; the index points into them;
//! - `files.txt`: every file runs wrote into the output folder, so that later runs remove
//!   only their own files; `files.<n>.txt`: the deltas over it (see [`crate::manifest`]);
//! - `journal` while a commit applies, and `run-<id>/` folders of runs in progress.
//!
//! Outputs of earlier versions kept `.content-fetch-state.json` and
//! `.content-fetch-items.jsonl` inside the output folder. A run into such a folder treats every
//! file in it as written by content-fetch, runs in full (an incremental run too), removes the
//! two files and leaves its state in the state folder.

use std::fs::{File, TryLockError};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use unified_content::{SCHEMA_VERSION, Timestamp};

use crate::index::PreviousIndex;
use crate::manifest::Manifest;
use crate::{Engine, WriteError};

/// The name of the folder that holds the state folders of a site's outputs.
const STATE_ROOT: &str = ".content-fetch";
/// The last run's state, in the state folder.
pub(crate) const STATE_FILE: &str = "state.json";
/// The item cache of the first version with a state folder, which the index replaced.
pub(crate) const OLD_ITEMS_FILE: &str = "items.jsonl";
const LOCK_FILE: &str = "lock";
/// The state file of earlier versions, inside the output folder.
const LEGACY_STATE_FILE: &str = ".content-fetch-state.json";

/// The state folder of the output folder `out`: where runs into `out` keep their lock, state
/// and item cache, outside the folder the engine loads.
pub fn state_dir(out: &Path) -> PathBuf {
    location(out).1
}

/// (the site's `.content-fetch` folder, the state folder of `out` inside it).
fn location(out: &Path) -> (PathBuf, PathBuf) {
    let out = lexical(&std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf()));
    let parent = out.parent().unwrap_or(&out);
    let site = parent
        .ancestors()
        .find(|a| a.join("package.json").is_file())
        .unwrap_or(parent);
    let relative = out.strip_prefix(site).unwrap_or(&out);
    let root = site.join(STATE_ROOT);
    let dir = root.join(relative);
    (root, dir)
}

/// `path` with `.` and `..` resolved by name, so the state folder stays below the site.
fn lexical(path: &Path) -> PathBuf {
    let mut clean = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    clean
}

/// The state a run leaves for the next.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) engine: String,
    pub(crate) schema_version: u32,
    pub(crate) templates: String,
    pub(crate) markdown: bool,
    pub(crate) items: usize,
    /// The newest `synced_at` (when the content cache stored it) of any item in the output:
    /// the next incremental run asks for what the cache changed since then. The cache's clock,
    /// not the providers' `updated_at`: a late delivery with an older `updated_at` is still
    /// seen.
    pub(crate) synced_until: Option<Timestamp>,
}

/// The previous run, as an incremental run builds on it.
pub(crate) struct Previous {
    pub(crate) state: State,
    /// Its index.
    pub(crate) index: PreviousIndex,
}

/// Which files of the output folder earlier runs wrote.
pub(crate) enum Owned {
    /// Those listed (none when no run listed any yet).
    Listed(Manifest),
    /// Every file: an output of an earlier version, which owned its whole folder.
    Everything,
}

/// The locked state folder of one run.
pub(crate) struct StateDir {
    dir: PathBuf,
    out: PathBuf,
    legacy: bool,
    /// Held for the whole run; closing it releases the lock.
    _lock: File,
}

impl StateDir {
    /// Takes the output folder for one run: refuses a folder of files content-fetch did not
    /// write (or, with `force`, moves them aside into a new folder beside it, returned), then
    /// locks the state folder, waiting up to `wait` for another run to finish.
    pub(crate) fn claim(
        out: &Path,
        force: bool,
        wait: Option<Duration>,
    ) -> Result<(StateDir, Option<PathBuf>), WriteError> {
        let (root, dir) = location(out);
        let legacy = out.join(LEGACY_STATE_FILE).is_file() && !dir.join(STATE_FILE).exists();
        let claimed = legacy || dir.join(LOCK_FILE).exists();
        let foreign = !claimed && foreign_entries(out)? > 0;
        if foreign && !force {
            return Err(WriteError::ForeignOutput {
                path: out.to_path_buf(),
                entries: foreign_entries(out)?,
            });
        }
        std::fs::create_dir_all(&dir).map_err(|e| WriteError::io("create folder", &dir, e))?;
        let ignore = root.join(".gitignore");
        if !ignore.exists() {
            // Run state, not site source: keep it out of version control.
            std::fs::write(&ignore, "*\n").map_err(|e| WriteError::io("write", &ignore, e))?;
        }
        let lock = lock(&dir, out, wait)?;
        let moved = if foreign {
            Some(move_aside(out)?)
        } else {
            None
        };
        Ok((
            StateDir {
                dir,
                out: out.to_path_buf(),
                legacy,
                _lock: lock,
            },
            moved,
        ))
    }

    /// The state folder.
    pub(crate) fn path(&self) -> &Path {
        &self.dir
    }

    /// Which files of the output folder earlier runs wrote.
    pub(crate) fn owned(&self) -> Result<Owned, WriteError> {
        Ok(match self.legacy {
            true => Owned::Everything,
            false => Owned::Listed(Manifest::open(&self.dir)?),
        })
    }

    /// The previous run of `engine`, if its state is usable.
    pub(crate) fn previous(&self, engine: &dyn Engine) -> Result<Option<Previous>, WriteError> {
        let path = self.dir.join(STATE_FILE);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                tracing::info!(out = %self.out.display(), "no previous state: running a full sync");
                return Ok(None);
            }
            Err(e) => return Err(WriteError::io("read", &path, e)),
        };
        let state: State = serde_json::from_slice(&text).map_err(|e| WriteError::State {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if state.engine != engine.name() || state.schema_version != SCHEMA_VERSION {
            tracing::info!(
                previous_engine = %state.engine,
                previous_schema = state.schema_version,
                "previous output is of another engine or model version: running a full sync"
            );
            return Ok(None);
        }
        let Some(index) = PreviousIndex::open(&self.dir)? else {
            tracing::info!(out = %self.out.display(), "no index of a previous run: running a full sync");
            return Ok(None);
        };
        Ok(Some(Previous { state, index }))
    }
}

/// How many entries `out` holds (0 when it does not exist).
fn foreign_entries(out: &Path) -> Result<usize, WriteError> {
    match std::fs::read_dir(out) {
        Ok(entries) => Ok(entries.count()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(WriteError::io("read folder", out, e)),
    }
}

/// Locks the state folder `dir` of `out` and writes this process's id into the lock file.
fn lock(dir: &Path, out: &Path, wait: Option<Duration>) -> Result<File, WriteError> {
    let path = dir.join(LOCK_FILE);
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| WriteError::io("open", &path, e))?;
    let deadline = wait.map(|w| Instant::now() + w);
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {
                if deadline.is_some_and(|d| Instant::now() < d) {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
                return Err(WriteError::Locked {
                    path: out.to_path_buf(),
                    pid: holder(&path),
                });
            }
            Err(TryLockError::Error(e)) => return Err(WriteError::io("lock", &path, e)),
        }
    }
    file.set_len(0)
        .and_then(|()| writeln!(file, "{}", std::process::id()))
        .map_err(|e| WriteError::io("write", &path, e))?;
    Ok(file)
}

/// The pid in the lock file at `path`. The holder writes it just after taking the lock, so an
/// empty file is read again for a moment.
fn holder(path: &Path) -> Option<u32> {
    (0..20).find_map(|attempt| {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::fs::read_to_string(path).ok()?.trim().parse().ok()
    })
}

/// Moves every entry of `out` into a new folder beside it, named after it and the time:
/// `<name>.content-fetch-moved-<UTC time>`.
fn move_aside(out: &Path) -> Result<PathBuf, WriteError> {
    let name = out
        .file_name()
        .expect("the output folder has a name")
        .to_string_lossy();
    let stamp = Timestamp::from(std::time::SystemTime::now()).format("%Y%m%dT%H%M%SZ");
    let mut aside = out.with_file_name(format!("{name}.content-fetch-moved-{stamp}"));
    let mut n = 1;
    while std::fs::symlink_metadata(&aside).is_ok() {
        n += 1;
        aside = out.with_file_name(format!("{name}.content-fetch-moved-{stamp}-{n}"));
    }
    std::fs::create_dir(&aside).map_err(|e| WriteError::io("create", &aside, e))?;
    let entries = std::fs::read_dir(out).map_err(|e| WriteError::io("read folder", out, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| WriteError::io("read folder", out, e))?;
        let to = aside.join(entry.file_name());
        std::fs::rename(entry.path(), &to).map_err(|e| WriteError::io("move", entry.path(), e))?;
    }
    tracing::warn!(out = %out.display(), aside = %aside.display(), "moved files content-fetch did not write out of the output folder");
    Ok(aside)
}
