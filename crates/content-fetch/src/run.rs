//! A whole run: one source streamed page by page into a sink, with a fallback snapshot taking
//! over when the API stays unreachable. The CLI and the Node addon share it.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{ErrorKind, FetchError};
use crate::fetch::{ContentSource, FetchOptions, FetchSummary, FetchedPage};

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
    /// summary says so ([`crate::SourceKind::FallbackSnapshot`]).
    pub async fn stream_into<E>(
        &self,
        options: &FetchOptions,
        fallback: Option<&Fallback>,
        progress: &mut dyn FnMut(&FetchSummary),
        sink: &mut dyn FnMut(Feed) -> Result<(), E>,
    ) -> Result<FetchSummary, RunError<E>> {
        let error = match drain(self, options, progress, sink).await {
            Ok(summary) => return Ok(summary),
            Err(RunError::Fetch(e)) if e.kind() == ErrorKind::Network => e,
            Err(other) => return Err(other),
        };
        let Some(fallback) = fallback else {
            return Err(RunError::Fetch(error));
        };
        let source = ContentSource::fallback(&fallback.path, fallback.max_age, &error)
            .map_err(RunError::Fetch)?;
        sink(Feed::Restart).map_err(RunError::Sink)?;
        drain(&source, options, progress, sink).await
    }
}

async fn drain<E>(
    source: &ContentSource,
    options: &FetchOptions,
    progress: &mut dyn FnMut(&FetchSummary),
    sink: &mut dyn FnMut(Feed) -> Result<(), E>,
) -> Result<FetchSummary, RunError<E>> {
    let mut stream = source.pages(options).map_err(RunError::Fetch)?;
    while let Some(page) = stream.next_page().await {
        sink(Feed::Page(page.map_err(RunError::Fetch)?)).map_err(RunError::Sink)?;
        progress(&stream.summary());
    }
    Ok(stream.summary())
}
