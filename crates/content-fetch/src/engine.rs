//! The engine run (the CLI's `--engine`, the addon's `writeEngineFiles`): a whole fetch
//! streamed into an engine writer, begun again from scratch when the fallback snapshot takes
//! over, committed only when everything succeeded.

use std::path::Path;

use ssg_writers::{RunReport, SyncRun, WriteError};

use crate::error::{ErrorKind, FetchError};
use crate::fetch::{FetchOptions, FetchSummary};
use crate::request::Request;
use crate::run::{Feed, RunError};

/// What an engine run did: the writer's report (none when no writer was begun) and the
/// fetch's summary.
#[derive(Debug)]
pub struct EngineOutcome {
    /// The committed run's report.
    pub report: Option<RunReport>,
    /// What the fetch did.
    pub summary: FetchSummary,
}

/// Runs `request` into `writer` (begun by the caller, so that its errors come before the
/// network's) and commits it. With a previous run's state the fetch continues from it
/// (tombstones included). When the fallback snapshot takes over part-way, the partial run is
/// dropped and `begin_again` gives a new one. `cwd` is where `content-fetch.toml` is searched
/// from; `progress` gets the summary after each page.
pub async fn run_engine<E>(
    request: &Request,
    mut options: FetchOptions,
    cwd: &Path,
    mut writer: Option<SyncRun>,
    begin_again: &mut dyn FnMut() -> Result<Option<SyncRun>, E>,
    progress: &mut dyn FnMut(&FetchSummary),
) -> Result<EngineOutcome, E>
where
    E: From<FetchError> + From<WriteError>,
{
    if let Some(since) = writer.as_ref().and_then(SyncRun::changes_since) {
        options.filters.continue_from(since);
    }
    let source = request.open(cwd).await?;
    let fallback = request.fallback();
    let summary = source
        .stream_into(&options, fallback.as_ref(), progress, &mut |feed| {
            match feed {
                // Drop the partial run (its staging folder and lock) before a new one.
                Feed::Restart => {
                    drop(writer.take());
                    writer = begin_again()?;
                }
                Feed::Page(page) => {
                    if let Some(w) = writer.as_mut() {
                        w.add_page(page.items)?;
                    }
                }
            }
            Ok::<(), E>(())
        })
        .await
        .map_err(|e| match e {
            RunError::Fetch(f) => E::from(f),
            RunError::Sink(s) => s,
        })?;
    let report = writer.map(SyncRun::commit).transpose()?;
    Ok(EngineOutcome { report, summary })
}

impl ErrorKind {
    /// The class of a writer's failure: duplicate or unsafe slugs in a strict run are
    /// validation, an unknown engine or unusable output settings are configuration, anything
    /// else is output.
    pub fn of_write(error: &WriteError) -> ErrorKind {
        match error {
            WriteError::DuplicateSlug { .. } | WriteError::UnsafeSlug { .. } => {
                ErrorKind::Validation
            }
            WriteError::UnknownEngine { .. }
            | WriteError::MarkdownUnsupported { .. }
            | WriteError::OutputFolder { .. } => ErrorKind::Config,
            _ => ErrorKind::Output,
        }
    }
}
