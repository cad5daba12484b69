//! A run's pages as they arrive, and what the run did.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use unified_content::{ContentStatus, ContentType, UnifiedContent};

use super::InvalidItem;
use crate::client::Stats;
use crate::error::FetchError;

/// One page of valid items of one content type, in the order received.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedPage {
    /// The type of every item in this page.
    pub content_type: ContentType,
    /// The page's number within its type, from 0.
    pub index: usize,
    /// Whether this is the type's last page.
    pub last: bool,
    /// The valid items, normalized.
    pub items: Vec<UnifiedContent>,
    /// Items skipped as invalid.
    pub skipped: Vec<InvalidItem>,
}

/// Where a run's content came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SourceKind {
    /// The content API.
    Api {
        /// Its base URL.
        endpoint: String,
    },
    /// A snapshot given with `--from`.
    Snapshot {
        /// The file.
        path: PathBuf,
        /// The endpoint the snapshot was pulled from.
        endpoint: String,
    },
    /// The fallback snapshot, because the API stayed unreachable.
    FallbackSnapshot {
        /// The file.
        path: PathBuf,
        /// The endpoint the snapshot was pulled from.
        endpoint: String,
        /// The snapshot's age in seconds.
        age_secs: u64,
        /// Why the API could not be used.
        api_error: String,
    },
}

impl SourceKind {
    /// The content API the items came from, directly or through a snapshot.
    pub fn endpoint(&self) -> &str {
        match self {
            SourceKind::Api { endpoint }
            | SourceKind::Snapshot { endpoint, .. }
            | SourceKind::FallbackSnapshot { endpoint, .. } => endpoint,
        }
    }
}

/// What a run did, for the one-line summary and `--json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FetchSummary {
    /// Where the content came from.
    pub source: SourceKind,
    /// Valid items per content type.
    pub items: BTreeMap<ContentType, usize>,
    /// All valid items.
    pub total: usize,
    /// Pages received.
    pub pages: u64,
    /// Bytes of response bodies received from the API, after gzip decoding.
    pub bytes: u64,
    /// Retried requests.
    pub retries: u64,
    /// Invalid items skipped.
    pub invalid_skipped: usize,
    /// Whether drafts are among the items.
    pub includes_drafts: bool,
    /// Wall time of the run.
    pub seconds: f64,
    /// Things a person should know, such as a fallback being used.
    pub warnings: Vec<String>,
}

impl fmt::Display for FetchSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per_type: Vec<String> = self
            .items
            .iter()
            .map(|(t, n)| format!("{} {n}", t.plural()))
            .collect();
        write!(
            f,
            "{} items ({}) in {} pages, {} bytes, {} retries, {} invalid skipped, {:.2} s from ",
            self.total,
            if per_type.is_empty() {
                "none".to_string()
            } else {
                per_type.join(", ")
            },
            self.pages,
            self.bytes,
            self.retries,
            self.invalid_skipped,
            self.seconds
        )?;
        match &self.source {
            SourceKind::Api { endpoint } => write!(f, "{endpoint}")?,
            SourceKind::Snapshot { path, .. } => write!(f, "snapshot {}", path.display())?,
            SourceKind::FallbackSnapshot { path, age_secs, .. } => write!(
                f,
                "FALLBACK snapshot {} ({} h old; the API was unreachable)",
                path.display(),
                age_secs / 3600
            )?,
        }
        if self.includes_drafts {
            write!(f, " [includes drafts]")?;
        }
        Ok(())
    }
}

/// Pages as they arrive, per content type, with bounded concurrency across types. Dropping
/// the stream stops the fetch.
pub struct PageStream {
    rx: mpsc::Receiver<Result<FetchedPage, FetchError>>,
    _tasks: JoinSet<()>,
    stats: Arc<Stats>,
    started: Instant,
    source: SourceKind,
    summary_items: BTreeMap<ContentType, usize>,
    pages: u64,
    invalid_skipped: usize,
    includes_drafts: bool,
    warnings: Vec<String>,
}

impl fmt::Debug for PageStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PageStream")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl PageStream {
    pub(crate) fn new(
        rx: mpsc::Receiver<Result<FetchedPage, FetchError>>,
        tasks: JoinSet<()>,
        stats: Arc<Stats>,
        source: SourceKind,
        includes_drafts: bool,
    ) -> PageStream {
        PageStream {
            rx,
            _tasks: tasks,
            stats,
            started: Instant::now(),
            source,
            summary_items: BTreeMap::new(),
            pages: 0,
            invalid_skipped: 0,
            includes_drafts,
            warnings: Vec::new(),
        }
    }

    /// The next page, `None` when every type is done. After an error the stream is stopped.
    pub async fn next_page(&mut self) -> Option<Result<FetchedPage, FetchError>> {
        let next = self.rx.recv().await?;
        match &next {
            Ok(page) => {
                self.pages += 1;
                *self.summary_items.entry(page.content_type).or_default() += page.items.len();
                self.invalid_skipped += page.skipped.len();
                self.includes_drafts |= page.items.iter().any(|i| i.status == ContentStatus::Draft);
            }
            Err(_) => self.rx.close(),
        }
        Some(next)
    }

    /// Where the pages come from.
    pub fn source(&self) -> &SourceKind {
        &self.source
    }

    /// Records a warning for the summary.
    pub fn warn(&mut self, warning: impl Into<String>) {
        self.warnings.push(warning.into());
    }

    /// What the run did so far.
    pub fn summary(&self) -> FetchSummary {
        FetchSummary {
            source: self.source.clone(),
            items: self.summary_items.clone(),
            total: self.summary_items.values().sum(),
            pages: self.pages,
            bytes: self.stats.bytes.load(Ordering::Relaxed),
            retries: self.stats.retries.load(Ordering::Relaxed),
            invalid_skipped: self.invalid_skipped,
            includes_drafts: self.includes_drafts,
            seconds: self.started.elapsed().as_secs_f64(),
            warnings: self.warnings.clone(),
        }
    }

    /// Reads every page and returns the items sorted by type and id, with the summary.
    pub async fn collect(mut self) -> Result<FetchOutcome, FetchError> {
        let mut items = Vec::new();
        while let Some(page) = self.next_page().await {
            items.extend(page?.items);
        }
        items.sort_by(|a, b| (a.content_type, &a.id).cmp(&(b.content_type, &b.id)));
        Ok(FetchOutcome {
            items,
            summary: self.summary(),
        })
    }
}

/// Every item of a run, sorted by content type then id, and what the run did.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchOutcome {
    /// The valid items.
    pub items: Vec<UnifiedContent>,
    /// The run's summary.
    pub summary: FetchSummary,
}
