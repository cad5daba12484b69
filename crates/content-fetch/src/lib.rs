//! Fetch client for the unified content API: SigV4, credentials chain, pagination, retries, snapshots.
