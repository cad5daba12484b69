//! Which of two versions of an item wins: the one order that the engine writers and the
//! snapshots share, so that both keep the same version of an id received twice.

use crate::model::{Timestamp, UnifiedContent};

/// A version of an item, ordered by `updated_at`, then `synced_at`: the later is newer. Of two
/// equal versions, the one received later wins ([`Version::replaces`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    updated_at: Timestamp,
    synced_at: Timestamp,
}

impl Version {
    /// The length of [`Version::to_bytes`].
    pub const BYTES: usize = 24;

    /// Whether this version, received after `earlier`, replaces it: it is newer or equal.
    pub fn replaces(self, earlier: Version) -> bool {
        self >= earlier
    }

    /// The version as bytes that compare (lexicographically, unsigned) as the versions do,
    /// for records sorted as raw bytes.
    pub fn to_bytes(self) -> [u8; Version::BYTES] {
        let mut bytes = [0; Version::BYTES];
        for (chunk, at) in bytes
            .chunks_exact_mut(12)
            .zip([self.updated_at, self.synced_at])
        {
            // Offset binary: unsigned big-endian bytes compare as the signed seconds do.
            chunk[..8].copy_from_slice(&(at.timestamp() as u64 ^ (1 << 63)).to_be_bytes());
            chunk[8..].copy_from_slice(&at.timestamp_subsec_nanos().to_be_bytes());
        }
        bytes
    }
}

impl UnifiedContent {
    /// This item's [`Version`].
    pub fn version(&self) -> Version {
        Version {
            updated_at: self.updated_at,
            synced_at: self.synced_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn version(updated: &str, synced: &str) -> Version {
        Version {
            updated_at: at(updated),
            synced_at: at(synced),
        }
    }

    #[test]
    fn updated_at_then_synced_at_and_the_bytes_agree() {
        let versions = [
            version("1969-12-31T23:59:59.5Z", "2026-01-01T00:00:00Z"),
            version("2026-01-01T00:00:00Z", "2025-01-01T00:00:00Z"),
            version("2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000000001Z"),
            version("2026-01-01T00:00:00.1Z", "1970-01-01T00:00:00Z"),
            version("2262-04-11T23:47:16Z", "2262-04-11T23:47:16Z"),
        ];
        for pair in versions.windows(2) {
            assert!(pair[0] < pair[1], "{pair:?}");
            assert!(pair[0].to_bytes() < pair[1].to_bytes(), "{pair:?}");
            assert!(pair[1].replaces(pair[0]) && !pair[0].replaces(pair[1]));
        }
        assert!(versions[2].replaces(versions[2]), "a tie goes to the later");
    }
}
