//! Fetching every matching item, page by page, from the API or a snapshot.

mod check;
mod filters;
mod stream;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::value::RawValue;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use unified_content::UnifiedContent;
use unified_content::api::ContentPage;

pub use check::InvalidItem;
pub(crate) use check::{build_page, check_model, check_raw};
pub use filters::{Filters, INCREMENTAL_OVERLAP};
pub use stream::{FetchOutcome, FetchSummary, FetchedPage, PageStream, SourceKind};

use crate::client::ContentClient;
use crate::error::FetchError;
use crate::offline;
use crate::snapshot::{self, Snapshot, SnapshotHeader};

/// How many empty pages in a row, each with a new cursor, a content type may send before the
/// run takes its cursors for a loop that never advances.
pub const DEFAULT_MAX_EMPTY_PAGES: usize = 10;

/// How a run fetches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// Which items.
    pub filters: Filters,
    /// Fail on the first invalid item instead of skipping it with a warning.
    pub strict: bool,
    /// Items per page asked of the API; `None` uses the API's default.
    pub page_size: Option<u32>,
    /// How many content types are fetched at once.
    pub concurrency: usize,
    /// How many empty pages in a row, each with a next cursor, are accepted; one more is
    /// malformed.
    pub max_empty_pages: usize,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            filters: Filters::default(),
            strict: false,
            page_size: None,
            concurrency: 3,
            max_empty_pages: DEFAULT_MAX_EMPTY_PAGES,
        }
    }
}

/// Where content is read from: the API, or a snapshot file offline.
#[derive(Debug, Clone)]
pub struct ContentSource(Origin);

#[derive(Debug, Clone)]
enum Origin {
    /// The content API.
    Api(Arc<ContentClient>),
    /// A snapshot file, checked when opened and read again as a stream by each run.
    Snapshot {
        /// The file it was read from.
        path: PathBuf,
        /// Its header.
        header: Arc<SnapshotHeader>,
        /// Set when it stands in for an unreachable API.
        fallback_for: Option<String>,
    },
}

impl ContentSource {
    /// The API through `client`.
    pub fn api(client: ContentClient) -> ContentSource {
        ContentSource(Origin::Api(Arc::new(client)))
    }

    /// A snapshot file, by its header (format and schema checked). The rest is checked by
    /// each use: [`ContentSource::pages`] checks the whole file before its first page,
    /// [`ContentSource::get`] as it looks for the item, in one read.
    pub fn snapshot(path: &Path) -> Result<ContentSource, FetchError> {
        Ok(ContentSource(Origin::Snapshot {
            path: path.to_path_buf(),
            header: Arc::new(snapshot::header(path)?),
            fallback_for: None,
        }))
    }

    /// The snapshot at `path` standing in for the API that failed with `api_error`, if it is
    /// younger than `max_age`.
    pub fn fallback(
        path: &Path,
        max_age: Duration,
        api_error: &FetchError,
    ) -> Result<ContentSource, FetchError> {
        let header = snapshot::header(path)?;
        let age = header.age();
        if age > max_age {
            return Err(FetchError::FallbackTooOld {
                path: path.to_path_buf(),
                age_secs: age.as_secs(),
                max_age_secs: max_age.as_secs(),
                api_error: api_error.to_string(),
            });
        }
        Ok(ContentSource(Origin::Snapshot {
            path: path.to_path_buf(),
            header: Arc::new(header),
            fallback_for: Some(api_error.to_string()),
        }))
    }

    /// Streams the matching items page by page. A snapshot holding drafts is refused unless
    /// the filters ask for drafts; a snapshot file cut or edited is refused before any page.
    pub fn pages(&self, options: &FetchOptions) -> Result<PageStream, FetchError> {
        self.stream_pages(options, true)
    }

    /// [`ContentSource::pages`]; from a snapshot, with `check_first` the whole file is read
    /// once to check it before the first page. Without it the file is read once: a cut or
    /// edited file still fails the stream before its last page, so a caller that keeps
    /// nothing until the end (a collect, an engine run, a snapshot pull) needs no first read.
    pub(crate) fn stream_pages(
        &self,
        options: &FetchOptions,
        check_first: bool,
    ) -> Result<PageStream, FetchError> {
        match &self.0 {
            Origin::Api(client) => Ok(api_pages(client, options)),
            Origin::Snapshot {
                path,
                header,
                fallback_for,
            } => {
                if header.includes_drafts && !options.filters.includes_drafts() {
                    return Err(FetchError::DraftSnapshot { path: path.clone() });
                }
                // The stream checks again that it is the same file.
                if check_first {
                    Snapshot::check(path)?;
                }
                let endpoint = header.endpoint.clone();
                let source = match fallback_for {
                    None => SourceKind::Snapshot {
                        path: path.clone(),
                        endpoint,
                    },
                    Some(api_error) => SourceKind::FallbackSnapshot {
                        path: path.clone(),
                        endpoint,
                        age_secs: header.age().as_secs(),
                        api_error: api_error.clone(),
                    },
                };
                Ok(offline::pages(header, path, source, options))
            }
        }
    }

    /// Every matching item, sorted by type then id, with the summary.
    pub async fn fetch_all(&self, options: &FetchOptions) -> Result<FetchOutcome, FetchError> {
        self.stream_pages(options, false)?.collect().await
    }

    /// One item by id, checked like any other; `None` when there is none.
    pub async fn get(&self, id: &str) -> Result<Option<UnifiedContent>, FetchError> {
        let (origin, checked) = match &self.0 {
            Origin::Api(client) => match client.item(id).await? {
                Some((url, raw)) => (url.to_string(), check_raw(&raw)),
                None => return Ok(None),
            },
            Origin::Snapshot { path, .. } => match offline::item(path, id).await? {
                Some(item) => (path.display().to_string(), check_model(item)),
                None => return Ok(None),
            },
        };
        checked
            .map(Some)
            .map_err(|invalid| FetchError::InvalidItem {
                id: invalid.id,
                field: invalid.field,
                reason: invalid.reason,
                url: origin,
            })
    }
}

fn api_pages(client: &Arc<ContentClient>, options: &FetchOptions) -> PageStream {
    // A type takes a slot of the channel before each request, so a page is fetched only when
    // it has a place to go: memory holds at most `concurrency` pages plus the consumer's,
    // however slow the consumer (a page waiting to be sent held one more per type).
    let (tx, rx) = mpsc::channel(options.concurrency.max(1));
    let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for content_type in options.filters.types() {
        let client = Arc::clone(client);
        let tx = tx.clone();
        let permits = Arc::clone(&permits);
        let mut query = options.filters.query(content_type, options.page_size);
        let options = options.clone();
        tasks.spawn(async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return;
            };
            let mut index = 0;
            // Every cursor this type was paged with: any repeat is a loop, however long.
            let mut seen = HashSet::new();
            let mut empty_in_a_row = 0;
            loop {
                let Ok(slot) = tx.reserve().await else {
                    return;
                };
                let check = |page: &ContentPage<Box<RawValue>>| {
                    let Some(next) = &page.next_cursor else {
                        return Ok(());
                    };
                    if seen.contains(next) || query.cursor.as_ref() == Some(next) {
                        return Err(format!(
                            "next_cursor '{next}' was already used for the {}: the API's cursors loop", content_type.plural()
                        ));
                    }
                    if page.items.is_empty() && empty_in_a_row >= options.max_empty_pages {
                        return Err(format!(
                            "{} empty pages in a row, each with a new cursor: the API's cursors do not advance",
                            empty_in_a_row + 1
                        ));
                    }
                    Ok(())
                };
                let result = client.page(&query, check).await.and_then(|raw| {
                    let last = raw.next_cursor.is_none();
                    empty_in_a_row = if raw.items.is_empty() { empty_in_a_row + 1 } else { 0 };
                    let checked = raw.items.iter().map(|item| check_raw(item));
                    let page = build_page(content_type, index, last, checked, &options, raw.url.as_str())?;
                    if let Some(used) = std::mem::replace(&mut query.cursor, raw.next_cursor) {
                        seen.insert(used);
                    }
                    Ok(page)
                });
                let stop = result.as_ref().map_or(true, |p| p.last);
                slot.send(result);
                if stop {
                    return;
                }
                index += 1;
            }
        });
    }
    PageStream::new(
        rx,
        tasks,
        Arc::clone(&client.stats),
        SourceKind::Api {
            endpoint: client.endpoint().to_string(),
        },
        options.filters.includes_drafts(),
    )
}
