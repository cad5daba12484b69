//! The Node addon of content-fetch: the fetcher and the engine writers, called from an SSG's
//! own config (an Astro loader, an Eleventy data file, a Next.js server component).
//!
//! A thin layer over the `content-fetch` and `ssg-writers` libraries: options become the
//! library's [`content_fetch::Request`], so they are checked and resolved as the CLI's flags
//! are; the work runs on a Tokio runtime of the addon's own, driven from libuv's thread pool,
//! never on the JS thread; failures become `Error`s with the CLI's message and a stable
//! `code` (`AUTH`, `NETWORK`, `VALIDATION`, `CONFIG`, `SNAPSHOT`, `OUTPUT`, `NOT_FOUND`).
//! Items reach JavaScript as JSON text in small chunks, which the package's JS parses with
//! `JSON.parse` between turns of the event loop.
#![deny(missing_docs)]

mod failure;
mod job;
mod json;
mod options;
mod reader;
mod results;

use std::collections::BTreeMap;

use content_fetch::{ErrorKind, Snapshot, run_engine};
use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi_derive::napi;
use ssg_writers::{Mode, SyncRun, WriteOptions};
use unified_content::ContentType;

use crate::failure::Failure;
use crate::job::{Done, Job, cwd};
pub use crate::options::{ContentOptions, OutputOptions};
pub use crate::reader::{PageReader, open_content, open_pages};
pub use crate::results::{
    PulledSnapshot, RawPage, RawSnapshot, RunSummary, SkippedItem, SnapshotHeader, WriteReport,
};

/// One item by id, checked like any other, as JSON text (`getContent` from the package
/// parses it). Fails with code `NOT_FOUND` when there is none.
#[napi(ts_return_type = "Promise<Uint8Array>")]
pub fn get_content_json(id: String, options: Option<ContentOptions>) -> AsyncTask<Job<Buffer>> {
    Job::spawn(move || async move {
        let request = options.unwrap_or_default().request()?;
        let source = request.open(&cwd()?).await?;
        match source.get(&id).await? {
            Some(item) => Ok(Done::new(Buffer::from(json::item(&item)))),
            None => Err(Failure::not_found(&id)),
        }
    })
}

/// Fetches with the options and saves everything to the snapshot file at `path` (written
/// aside, then renamed), as `content-fetch snapshot pull --out PATH`.
#[napi(ts_return_type = "Promise<PulledSnapshot>")]
pub fn pull_snapshot(
    path: String,
    options: Option<ContentOptions>,
) -> AsyncTask<Job<PulledSnapshot>> {
    Job::spawn(move || async move {
        let request = options.unwrap_or_default().request()?;
        let fetch = request.fetch_options()?;
        let source = request.open(&cwd()?).await?;
        let (header, summary) = source
            .pull_snapshot(&fetch, std::path::Path::new(&path), &mut |_| {})
            .await?;
        let warnings = summary.warnings.clone();
        Ok(Done::with_warnings(
            PulledSnapshot {
                path,
                header: SnapshotHeader::from(&header),
                summary: RunSummary::from(&summary),
            },
            warnings,
        ))
    })
}

/// Reads a snapshot file and checks its format, schema version, count, order and digests;
/// its items as JSON text (`loadSnapshot` from the package parses them).
#[napi(ts_return_type = "Promise<RawSnapshot>")]
pub fn load_snapshot_json(path: String) -> AsyncTask<Job<RawSnapshot>> {
    Job::spawn(move || async move {
        let snapshot = Snapshot::read(std::path::Path::new(&path))?;
        Ok(Done::new(RawSnapshot {
            header: SnapshotHeader::from(&snapshot.header),
            items: json::chunks(snapshot.items.iter().map(|i| json::item(&i.content))),
        }))
    })
}

/// The collection name of each content type (`product` → `products`, `collection` →
/// `productCollections`, ...), as every engine's files name them: Eleventy's data keys,
/// Astro's collections, Next's index files.
#[napi(ts_return_type = "Record<string, string>")]
pub fn collection_names() -> BTreeMap<String, String> {
    ContentType::ALL
        .into_iter()
        .map(|t| {
            let name = ssg_writers::collection_name(t);
            (t.as_str().to_string(), name.to_string())
        })
        .collect()
}

/// The same run as `content-fetch --engine ENGINE`: fetches (incrementally when asked and
/// the output holds a previous run's state) and writes the engine's data files, swapping
/// them in only when everything succeeded. `engine` is `eleventy`, `astro` or `next`.
#[napi(ts_return_type = "Promise<WriteReport>")]
pub fn write_engine_files(
    engine: String,
    options: Option<ContentOptions>,
    output: Option<OutputOptions>,
) -> AsyncTask<Job<WriteReport>> {
    Job::spawn(move || async move {
        let request = options.unwrap_or_default().request()?;
        let output = output.unwrap_or_default();
        let engine = ssg_writers::engine(&engine)?;
        let mut write = WriteOptions::new(
            output
                .out
                .clone()
                .unwrap_or_else(|| engine.default_out().to_string()),
        );
        write.template_dir = output.template_dir.as_ref().map(Into::into);
        write.markdown = output.markdown.unwrap_or(false);
        write.strict = request.strict;
        write.mode = if output.incremental.unwrap_or(false) {
            Mode::Incremental
        } else {
            Mode::Full
        };
        let fetch = request.fetch_options()?;
        let writer = SyncRun::begin(engine, write.clone())?;
        let outcome = run_engine::<Failure>(
            &request,
            fetch,
            &cwd()?,
            Some(writer),
            &mut || Ok(Some(SyncRun::begin(engine, write.clone())?)),
            &mut |_| {},
        )
        .await?;
        let summary = outcome.summary;
        // Every run begun again is a writer, so a run always ends with a report.
        let report = outcome.report.ok_or_else(|| Failure {
            code: ErrorKind::Output.code(),
            message: "the engine run ended without its writer".into(),
        })?;
        let warnings = summary.warnings.clone();
        Ok(Done::with_warnings(
            WriteReport::new(report, &summary),
            warnings,
        ))
    })
}
