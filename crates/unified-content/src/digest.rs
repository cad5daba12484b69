//! Content digests: stable fingerprints of what an item says.

use sha2::{Digest, Sha256};

use crate::model::UnifiedContent;

/// The SHA-256 of the item's canonical JSON (keys sorted, no white space), leaving out
/// `synced_at`, as `sha256:<hex>`.
///
/// Two items with equal content have equal digests whenever they were synced, so the digest
/// tells a real change from a re-delivery and serves as a cache key for site builds.
pub fn content_digest(item: &UnifiedContent) -> String {
    let mut value = serde_json::to_value(item).expect("unified content always serializes");
    if let Some(object) = value.as_object_mut() {
        object.remove("synced_at");
    }
    // serde_json's map is ordered by key, so this text is canonical.
    let canonical = serde_json::to_vec(&value).expect("a JSON value always serializes");
    format!("sha256:{}", hex::encode(Sha256::digest(&canonical)))
}
