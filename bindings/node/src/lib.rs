//! The Node addon of content-fetch: the fetcher and the engine writers, called from an SSG's
//! own config (an Astro loader, an Eleventy data file, a Next.js server component).
//!
//! A thin layer over the `content-fetch` and `ssg-writers` libraries: options become the
//! library's [`content_fetch::Request`], so they are checked and resolved as the CLI's flags
//! are; the work runs on a Tokio runtime of the addon's own, driven from libuv's thread pool,
//! never on the JS thread; failures become `Error`s with the CLI's message and a stable
//! `code` (`AUTH`, `NETWORK`, `VALIDATION`, `CONFIG`, `SNAPSHOT`, `OUTPUT`, `NOT_FOUND`). The JS
//! thread only turns the results into objects.
#![deny(missing_docs)]

mod failure;
mod job;
mod options;
mod results;

use std::sync::Arc;

use content_fetch::{Feed, FetchSummary, PageStream, Snapshot};
use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;
use serde_json::Value;
use ssg_writers::{Mode, SyncRun, WriteOptions};
use unified_content::UnifiedContent;

use crate::failure::Failure;
use crate::job::{Done, Job, Json, cwd};
pub use crate::options::{ContentOptions, OutputOptions};
pub use crate::results::{
    LoadedSnapshot, Page, PulledSnapshot, RunSummary, SkippedItem, SnapshotHeader, WriteReport,
};

/// Every item matching the options, validated (invalid items are skipped with a process
/// warning, or fail the call with `strict`), sorted by content type then id. Falls back to
/// `fallbackSnapshot` when the API stays unreachable, with a warning.
#[napi(ts_return_type = "Promise<UnifiedContent[]>")]
pub fn fetch_content(options: Option<ContentOptions>) -> AsyncTask<Job<Vec<Json>>> {
    Job::spawn(move || async move {
        let request = options.unwrap_or_default().request()?;
        let fetch = request.fetch_options()?;
        let source = request.open(&cwd()?).await?;
        let mut items: Vec<UnifiedContent> = Vec::new();
        let mut warnings = Vec::new();
        let summary = source
            .stream_into(
                &fetch,
                request.fallback().as_ref(),
                &mut |_| {},
                &mut |feed| {
                    match feed {
                        Feed::Restart => {
                            items.clear();
                            warnings.clear();
                        }
                        Feed::Page(page) => {
                            warnings.extend(page.skipped.iter().map(results::skipped_warning));
                            items.extend(page.items);
                        }
                    }
                    Ok::<(), Failure>(())
                },
            )
            .await?;
        items.sort_by(|a, b| (a.content_type, &a.id).cmp(&(b.content_type, &b.id)));
        warnings.extend(summary.warnings);
        Ok(Done::with_warnings(results::js_items(&items), warnings))
    })
}

/// Reads the pages of a run one at a time, for catalogs too big for one array: the fetch runs
/// at most a few pages ahead of `next()`. Use `pages()` from the package, an async iterator
/// over this reader.
#[napi]
pub struct PageReader {
    state: Arc<tokio::sync::Mutex<ReaderState>>,
}

enum ReaderState {
    Ready(Box<ContentOptions>),
    Open(PageStream),
    Done,
}

/// A reader of the pages of the run the options ask for. Nothing is fetched before the first
/// `next()`.
#[napi]
pub fn open_pages(options: Option<ContentOptions>) -> PageReader {
    PageReader {
        state: Arc::new(tokio::sync::Mutex::new(ReaderState::Ready(Box::new(
            options.unwrap_or_default(),
        )))),
    }
}

#[napi]
impl PageReader {
    /// The next page of valid items of one content type, or `null` after the last page.
    /// Invalid items are listed in the page's `skipped` (or fail the call with `strict`).
    #[napi(ts_return_type = "Promise<Page | null>")]
    pub fn next(&self) -> AsyncTask<Job<Option<Page>>> {
        let state = Arc::clone(&self.state);
        Job::spawn(move || async move {
            let mut state = state.lock().await;
            if let ReaderState::Ready(options) = &*state {
                let request = options.request()?;
                let fetch = request.fetch_options()?;
                let source = request.open(&cwd()?).await?;
                *state = ReaderState::Open(source.pages(&fetch)?);
            }
            let ReaderState::Open(stream) = &mut *state else {
                return Ok(Done::new(None));
            };
            match stream.next_page().await {
                Some(Ok(page)) => Ok(Done::new(Some(Page::from(page)))),
                Some(Err(e)) => {
                    *state = ReaderState::Done;
                    Err(e.into())
                }
                None => {
                    *state = ReaderState::Done;
                    Ok(Done::new(None))
                }
            }
        })
    }

    /// Stops the fetch; `next()` gives `null` from now on.
    #[napi]
    pub fn close(&self) {
        if let Ok(mut state) = self.state.try_lock() {
            *state = ReaderState::Done;
        }
    }
}

/// One item by id, checked like any other. Fails with code `NOT_FOUND` when there is none.
#[napi(ts_return_type = "Promise<UnifiedContent>")]
pub fn get_content(id: String, options: Option<ContentOptions>) -> AsyncTask<Job<Json>> {
    Job::spawn(move || async move {
        let request = options.unwrap_or_default().request()?;
        let source = request.open(&cwd()?).await?;
        match source.get(&id).await? {
            Some(item) => Ok(Done::new(Json(results::js_item(&item)))),
            None => Err(Failure::not_found(&id)),
        }
    })
}

/// Fetches with the options and saves everything to the snapshot file at `path` (written
/// aside, then renamed), as `content-fetch snapshot pull --out PATH`.
#[napi]
pub fn pull_snapshot(
    path: String,
    options: Option<ContentOptions>,
) -> AsyncTask<Job<PulledSnapshot>> {
    Job::spawn(move || async move {
        let request = options.unwrap_or_default().request()?;
        let fetch = request.fetch_options()?;
        let source = request.open(&cwd()?).await?;
        let mut items: Vec<UnifiedContent> = Vec::new();
        let summary = source
            .stream_into(&fetch, None, &mut |_| {}, &mut |feed| {
                match feed {
                    Feed::Restart => items.clear(),
                    Feed::Page(page) => items.extend(page.items),
                }
                Ok::<(), Failure>(())
            })
            .await?;
        let snapshot = Snapshot::new(
            summary.source.endpoint(),
            &fetch.filters,
            chrono::Utc::now(),
            items,
        );
        snapshot.write(std::path::Path::new(&path))?;
        let warnings = summary.warnings.clone();
        Ok(Done::with_warnings(
            PulledSnapshot {
                path,
                header: SnapshotHeader::from(&snapshot.header),
                summary: RunSummary::from(&summary),
            },
            warnings,
        ))
    })
}

/// Reads a snapshot file and checks its format, schema version, count, order and digests.
#[napi]
pub fn load_snapshot(path: String) -> AsyncTask<Job<LoadedSnapshot>> {
    Job::spawn(move || async move {
        let snapshot = Snapshot::read(std::path::Path::new(&path))?;
        let items: Vec<Value> = snapshot
            .items
            .iter()
            .map(|i| results::js_item(&i.content))
            .collect();
        Ok(Done::new(LoadedSnapshot {
            header: SnapshotHeader::from(&snapshot.header),
            items,
        }))
    })
}

/// The same run as `content-fetch --engine ENGINE`: fetches (incrementally when asked and
/// the output holds a previous run's state) and writes the engine's data files, swapping
/// them in only when everything succeeded. `engine` is `eleventy`, `astro` or `next`.
#[napi]
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
        let mut fetch = request.fetch_options()?;
        let mut writer = Some(SyncRun::begin(engine, write.clone())?);
        if let Some(since) = writer.as_ref().and_then(SyncRun::changes_since) {
            fetch.filters.continue_from(since);
        }
        let source = request.open(&cwd()?).await?;
        let summary: FetchSummary = source
            .stream_into(
                &fetch,
                request.fallback().as_ref(),
                &mut |_| {},
                &mut |feed| {
                    match feed {
                        // The fallback snapshot replaces what the API sent so far: start
                        // over, dropping the partial run before a new one, as the CLI does.
                        Feed::Restart => {
                            drop(writer.take());
                            writer = Some(SyncRun::begin(engine, write.clone())?);
                        }
                        Feed::Page(page) => {
                            if let Some(w) = writer.as_mut() {
                                w.add_page(page.items)?;
                            }
                        }
                    }
                    Ok::<(), ssg_writers::WriteError>(())
                },
            )
            .await
            .map_err(Failure::from)?;
        // A restart that could not begin a new run has already failed the call.
        let writer = writer.ok_or_else(|| Failure {
            code: "OUTPUT",
            message: "the engine run was not begun again after the fallback took over".into(),
        })?;
        let report = writer.commit()?;
        let warnings = summary.warnings.clone();
        Ok(Done::with_warnings(
            WriteReport::new(report, &summary),
            warnings,
        ))
    })
}
