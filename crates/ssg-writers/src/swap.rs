//! Swapping a finished staging folder in place of the output folder, atomically where the
//! platform allows.

use std::io;
use std::path::Path;

/// Puts `staging` where `out` is. On Linux both folders are exchanged in one `renameat2`
/// call, so every reader sees either the whole old or the whole new output; the old tree,
/// now at `staging`, is then removed. Elsewhere (or on file systems without the exchange) the
/// old folder is first renamed to `backup`, and [`recover`] puts it back if the process dies
/// before the new one is in place.
pub(crate) fn swap_in(staging: &Path, out: &Path, backup: &Path) -> io::Result<()> {
    if std::fs::symlink_metadata(out).is_err() {
        return std::fs::rename(staging, out);
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        match renameat_with(CWD, staging, CWD, out, RenameFlags::EXCHANGE) {
            Ok(()) => return remove_tree(staging),
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {}
            Err(e) => return Err(e.into()),
        }
    }
    std::fs::rename(out, backup)?;
    if let Err(e) = std::fs::rename(staging, out) {
        std::fs::rename(backup, out)?;
        return Err(e);
    }
    remove_tree(backup)
}

/// Undoes a fallback swap cut short between its two renames, and removes leftovers of an
/// interrupted run.
pub(crate) fn recover(out: &Path, backup: &Path, staging: &Path) -> io::Result<()> {
    if std::fs::symlink_metadata(backup).is_ok() {
        if std::fs::symlink_metadata(out).is_err() {
            std::fs::rename(backup, out)?;
        } else {
            remove_tree(backup)?;
        }
    }
    remove_tree(staging)
}

/// Removes a folder tree; a folder that is already gone is fine.
pub(crate) fn remove_tree(path: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}
