//! Provider adapters: webhook signature checks and normalization into unified content changes.
