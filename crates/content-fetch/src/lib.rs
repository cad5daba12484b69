//! Fetch client for the unified content API: SigV4, credentials chain, pagination, retries,
//! snapshots.
//!
//! The CLI, the Node addon and the SSG writers share this library:
//!
//! 1. [`Settings::resolve`] finds the endpoint (`--endpoint`, `INTEGRATION_API_URL`,
//!    `content-fetch.toml`), region and profile.
//! 2. [`AwsAccess::load`] gets region and credentials through aws-config's default chain.
//! 3. [`ContentClient::new`] makes the signed, retrying HTTP client; [`ContentSource::api`]
//!    (or [`ContentSource::snapshot`] offline) wraps it.
//! 4. [`ContentSource::pages`] streams validated items page by page per content type, so a
//!    writer never needs the whole catalog in memory; [`ContentSource::fetch_all`] collects
//!    them. [`ContentSource::stream_into`] runs a whole fetch into a sink, with a [`Fallback`]
//!    snapshot taking over when the API stays unreachable. [`Snapshot`] saves and reads a run.
#![deny(missing_docs)]

mod aws;
mod client;
mod error;
mod fetch;
mod run;
mod settings;
mod snapshot;

pub use aws::{AwsAccess, SERVICE, sign_get};
pub use client::{ClientOptions, ContentClient, RetryPolicy, content_url, item_url};
pub use error::{ErrorKind, FetchError};
pub use fetch::{
    ContentSource, FetchOptions, FetchOutcome, FetchSummary, FetchedPage, Filters,
    INCREMENTAL_OVERLAP, InvalidItem, PageStream, SourceKind,
};
pub use run::{Fallback, Feed, RunError};
pub use settings::{
    CONFIG_FILE_NAME, ConfigFile, ENDPOINT_ENV, Settings, parse_duration, parse_endpoint,
    region_from_endpoint,
};
pub use snapshot::{
    DiffEntry, SNAPSHOT_FORMAT, Snapshot, SnapshotDiff, SnapshotHeader, SnapshotItem, TypeCounts,
};
