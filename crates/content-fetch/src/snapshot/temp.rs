//! The temporary files of a snapshot being written, beside it in the same folder so that the
//! final rename is atomic. Each is locked while its run lives; one left by a killed run is
//! unlocked, and the next run removes it.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tempfile::NamedTempFile;

use crate::error::FetchError;

/// What the name of every temporary file holds after `.<snapshot name>.`.
const MARK: &str = "content-fetch-";
/// The length of the random part that `tempfile` puts after [`MARK`].
const RANDOM_LEN: usize = 6;
const SUFFIX: &str = ".tmp";
/// An unlocked temporary file younger than this may be one that a live run has just created
/// and not yet locked: it is left alone.
const GRACE: Duration = Duration::from_secs(2);

/// The folder and file name of a snapshot path.
pub(super) fn place(path: &Path) -> Result<(PathBuf, String), FetchError> {
    let name = path
        .file_name()
        .ok_or_else(|| FetchError::snapshot(path, "it names no file"))?
        .to_string_lossy()
        .into_owned();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir, name))
}

/// A new temporary file beside `path`, locked for as long as it is open, after removing the
/// ones that killed runs left there. `mode` is applied (less the umask) on Unix.
pub(super) fn create(path: &Path, mode: u32) -> Result<NamedTempFile, FetchError> {
    let (dir, name) = place(path)?;
    sweep(&dir, &name);
    let prefix = format!(".{name}.{MARK}");
    let mut builder = tempfile::Builder::new();
    builder
        .prefix(&prefix)
        .suffix(SUFFIX)
        .rand_bytes(RANDOM_LEN);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    let file = builder.tempfile_in(&dir).map_err(|e| {
        FetchError::snapshot(
            path,
            format!(
                "cannot create a temporary file in {} ({e}); check the folder exists and is writable",
                dir.display()
            ),
        )
    })?;
    file.as_file()
        .lock()
        .map_err(|e| FetchError::snapshot(path, format!("cannot lock its temporary file ({e})")))?;
    Ok(file)
}

/// Whether `file_name` is one of ours for the snapshot `name`: `.<name>.content-fetch-XXXXXX.tmp`.
fn is_ours(file_name: &str, name: &str) -> bool {
    file_name
        .strip_prefix(&format!(".{name}.{MARK}"))
        .and_then(|rest| rest.strip_suffix(SUFFIX))
        .is_some_and(|random| {
            random.len() == RANDOM_LEN && random.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

/// Removes our temporary files for `name` in `dir` that no live run holds. Failures only
/// leave a file for a later run; they never fail this one.
fn sweep(dir: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        if !file_name.to_str().is_some_and(|f| is_ours(f, name)) {
            continue;
        }
        let path = entry.path();
        let Ok(file) = File::open(&path) else {
            continue;
        };
        let young = file
            .metadata()
            .and_then(|m| m.modified())
            .map(|t| SystemTime::now().duration_since(t).unwrap_or_default() < GRACE)
            .unwrap_or(true);
        match file.try_lock() {
            Ok(()) if !young => match std::fs::remove_file(&path) {
                Ok(()) => {
                    tracing::info!(path = %path.display(), "removed a temporary file left by an earlier run")
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), "cannot remove a stale temporary file: {e}")
                }
            },
            Ok(()) | Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => {
                tracing::debug!(path = %path.display(), "cannot lock a temporary file: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_own_names_are_ours() {
        assert!(is_ours(".snap.json.content-fetch-a1B2c3.tmp", "snap.json"));
        for other in [
            ".snap.json.content-fetch-a1B2c3.tmp.bak",
            ".snap.json.content-fetch-notes.tmp",
            ".snap.json.content-fetch-a1B2c3d.tmp",
            ".snap.json.content-fetch-a1-2c3.tmp",
            ".snap.json.12345.tmp",
            "snap.json.content-fetch-a1B2c3.tmp",
            ".other.json.content-fetch-a1B2c3.tmp",
        ] {
            assert!(!is_ours(other, "snap.json"), "{other}");
        }
    }
}
