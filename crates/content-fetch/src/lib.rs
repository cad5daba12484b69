//! Fetch client for the unified content API: SigV4, credentials chain, pagination, retries,
//! snapshots.
//!
//! The CLI, the Node addon and the SSG writers share this library:
//!
//! 1. A [`Request`] holds what the caller asks for (the CLI's flags, the addon's options);
//!    [`Request::open`] resolves the endpoint (given, `INTEGRATION_API_URL`,
//!    `content-fetch.toml`), region and credentials (aws-config's default chain) the same way
//!    for both, and gives a [`ContentSource`]: the signed, retrying API client, or a snapshot
//!    offline.
//! 2. [`ContentSource::pages`] streams validated items page by page per content type, so a
//!    writer never needs the whole catalog in memory; [`ContentSource::fetch_all`] collects
//!    them. [`ContentSource::stream_into`] runs a whole fetch into a sink, with a [`Fallback`]
//!    snapshot taking over when the API stays unreachable. [`Snapshot`] saves and reads a run.
//! 3. [`run_engine`] is the engine run: a fetch streamed into an `ssg_writers` run, begun
//!    again when the fallback takes over, committed when everything succeeded.
//! 4. A [`FetchError`]'s message names no flag or option: [`FetchError::remedy`] names the
//!    [`Setting`] that fixes it, for the caller to render in its own words. Every failure has
//!    an [`ErrorKind`] ([`FetchError::kind`], [`ErrorKind::of_write`]), which the CLI maps to
//!    its exit code and the addon to its error `code`.
#![deny(missing_docs)]

mod aws;
mod client;
mod engine;
mod error;
mod fetch;
mod offline;
mod request;
mod run;
mod settings;
mod snapshot;

pub use aws::{AwsAccess, sign_get};
pub use client::{ClientOptions, ContentClient, RetryPolicy, content_url, item_url};
pub use engine::{EngineOutcome, run_engine};
pub use error::{ErrorKind, FetchError, Setting};
pub use fetch::{
    ContentSource, DEFAULT_MAX_EMPTY_PAGES, FetchOptions, FetchOutcome, FetchSummary, FetchedPage,
    Filters, INCREMENTAL_OVERLAP, InvalidItem, PageStream, SourceKind,
};
pub use request::Request;
pub use run::{Fallback, Feed, RunError, RunFeeds};
pub use settings::{CONFIG_FILE_NAME, ConfigFile, parse_duration, parse_endpoint};
pub use snapshot::{
    DiffEntry, SNAPSHOT_FORMAT, Snapshot, SnapshotDiff, SnapshotHeader, SnapshotItem,
    SnapshotWriter, TypeCounts,
};
