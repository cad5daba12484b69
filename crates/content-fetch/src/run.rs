//! A whole run: one source streamed page by page into a sink, with a fallback snapshot taking
//! over when the API stays unreachable. The CLI and the Node addon share it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{ErrorKind, FetchError};
use crate::fetch::{ContentSource, FetchOptions, FetchSummary, FetchedPage, PageStream};
use crate::snapshot::{SnapshotHeader, SnapshotWriter};

/// The snapshot a run may go on from when the API stays unreachable after every retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fallback {
    /// The last good snapshot.
    pub path: PathBuf,
    /// The oldest snapshot accepted.
    pub max_age: Duration,
}

/// What a sink is fed.
#[derive(Debug)]
pub enum Feed {
    /// The next page.
    Page(FetchedPage),
    /// The API failed part-way and the fallback snapshot follows from the start: drop
    /// everything received so far.
    Restart,
}

/// Why a run failed: the fetch, or the sink's own error, kept as it was.
#[derive(Debug)]
pub enum RunError<E> {
    /// Fetching failed (and no usable fallback took over).
    Fetch(FetchError),
    /// The sink refused a page.
    Sink(E),
}

impl<E: fmt::Display> fmt::Display for RunError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Fetch(e) => e.fmt(f),
            RunError::Sink(e) => e.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for RunError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunError::Fetch(e) => Some(e),
            RunError::Sink(e) => Some(e),
        }
    }
}

impl ContentSource {
    /// Streams every page into `sink`, calling `progress` with the summary so far after each
    /// page. When the API stays unreachable after every retry and `fallback` is given, the
    /// sink gets [`Feed::Restart`], then the fallback snapshot's pages from the start, and the
    /// summary says so ([`crate::SourceKind::FallbackSnapshot`]). A snapshot file is read
    /// once, checked as it streams: a file cut or edited fails the run after some pages but
    /// before the last, so the sink should keep nothing until the run returns `Ok`.
    pub async fn stream_into<E>(
        &self,
        options: &FetchOptions,
        fallback: Option<&Fallback>,
        progress: &mut dyn FnMut(&FetchSummary),
        sink: &mut dyn FnMut(Feed) -> Result<(), E>,
    ) -> Result<FetchSummary, RunError<E>> {
        let mut run = self
            .feeds(options, fallback.cloned(), false)
            .map_err(RunError::Fetch)?;
        while let Some(feed) = run.next().await {
            sink(feed.map_err(RunError::Fetch)?).map_err(RunError::Sink)?;
            progress(&run.summary());
        }
        Ok(run.summary())
    }

    /// The run's feeds, pulled one at a time (for a caller that hands pages on as they are
    /// asked for, like the addon's page reader): the pages, and when the API stays
    /// unreachable after every retry and `fallback` is given, [`Feed::Restart`] then the
    /// fallback snapshot's pages from the start.
    pub fn run(
        &self,
        options: &FetchOptions,
        fallback: Option<Fallback>,
    ) -> Result<RunFeeds, FetchError> {
        self.feeds(options, fallback, true)
    }

    /// The run's feeds as [`ContentSource::run`] gives them, for a caller that keeps
    /// everything until the last feed (the addon's `fetchContent`): a snapshot file is read
    /// once, checked as it streams, as in [`ContentSource::stream_into`].
    pub fn run_whole(
        &self,
        options: &FetchOptions,
        fallback: Option<Fallback>,
    ) -> Result<RunFeeds, FetchError> {
        self.feeds(options, fallback, false)
    }

    /// The run's feeds; `check_first` as in [`ContentSource::stream_pages`].
    fn feeds(
        &self,
        options: &FetchOptions,
        fallback: Option<Fallback>,
        check_first: bool,
    ) -> Result<RunFeeds, FetchError> {
        Ok(RunFeeds {
            stream: self.stream_pages(options, check_first)?,
            options: options.clone(),
            fallback,
            check_first,
        })
    }
}

impl ContentSource {
    /// Fetches with `options` into a snapshot file at `path` (written aside, then renamed; a
    /// failed pull writes nothing), as `content-fetch snapshot pull`. There is no fallback: a
    /// snapshot is pulled from the API. The summary counts what the snapshot holds, each id
    /// once (its newest version), with a warning (also logged) when items came more than once.
    pub async fn pull_snapshot(
        &self,
        options: &FetchOptions,
        path: &Path,
        progress: &mut dyn FnMut(&FetchSummary),
    ) -> Result<(SnapshotHeader, FetchSummary), FetchError> {
        let mut snapshot = SnapshotWriter::create(path)?;
        let mut summary = self
            .stream_into(options, None, progress, &mut |feed| match feed {
                Feed::Restart => snapshot.restart(),
                Feed::Page(page) => snapshot.add(page.items),
            })
            .await
            .map_err(|e| match e {
                RunError::Fetch(e) | RunError::Sink(e) => e,
            })?;
        let unique = snapshot.per_type()?;
        for (content_type, count) in &mut summary.items {
            *count = unique.get(content_type).copied().unwrap_or(0);
        }
        summary.total = summary.items.values().sum();
        if snapshot.received() > summary.total {
            let warning = format!(
                "{} item(s) came more than once; the snapshot keeps the newest version of each",
                snapshot.received() - summary.total
            );
            tracing::warn!("{warning}");
            summary.warnings.push(warning);
        }
        let header = snapshot.finish(
            summary.source.endpoint(),
            &options.filters,
            chrono::Utc::now(),
        )?;
        Ok((header, summary))
    }
}

/// The feeds of one run, from [`ContentSource::run`]. Dropping it stops the fetch.
#[derive(Debug)]
pub struct RunFeeds {
    stream: PageStream,
    options: FetchOptions,
    /// Taken when it takes over, so it does so at most once.
    fallback: Option<Fallback>,
    /// Whether a snapshot file is checked whole before its first page.
    check_first: bool,
}

impl RunFeeds {
    /// The next feed, `None` after the last page. After an error the run is stopped.
    pub async fn next(&mut self) -> Option<Result<Feed, FetchError>> {
        match self.stream.next_page().await? {
            Ok(page) => Some(Ok(Feed::Page(page))),
            Err(error) if error.kind() == ErrorKind::Network && self.fallback.is_some() => {
                let fallback = self.fallback.take()?;
                let stream = ContentSource::fallback(&fallback.path, fallback.max_age, &error)
                    .and_then(|source| source.stream_pages(&self.options, self.check_first));
                Some(stream.map(|stream| {
                    self.stream = stream;
                    Feed::Restart
                }))
            }
            Err(error) => Some(Err(error)),
        }
    }

    /// What the run did so far (after a restart, what the fallback snapshot gave).
    pub fn summary(&self) -> FetchSummary {
        self.stream.summary()
    }
}
