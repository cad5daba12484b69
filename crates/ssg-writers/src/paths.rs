//! File names that cannot leave the output folder.
//!
//! Every file name is built by the writer from a content type's plural, a slug and a fixed
//! extension. Every slug goes through [`unified_content::slugify`], which leaves ordinary slugs
//! as they are and turns anything else (`../x`, `C:\\x`, NUL, look-alikes, over-long names)
//! into a plain, bounded slug, so none of those ever reach the file system.

use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

/// The deterministic suffix of a slug shared by several items: the first 8 hex digits of the
/// SHA-256 of the item's id. It depends on nothing but the id, so adding or removing other
/// items never renames a file.
pub(crate) fn suffixed_slug(slug: &str, id: &str) -> String {
    let digest = hex::encode(Sha256::digest(id.as_bytes()));
    format!("{slug}-{}", &digest[..8])
}

/// `root/relative`, after checking that `relative` is made of plain names only.
pub(crate) fn join_inside(root: &Path, relative: &str) -> PathBuf {
    let rel = Path::new(relative);
    assert!(
        rel.components().all(|c| matches!(c, Component::Normal(_)))
            && !relative.contains(['\\', '\0']),
        "the writer only builds relative paths of plain names, got {relative:?}"
    );
    root.join(rel)
}
