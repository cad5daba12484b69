//! Fetching every matching item, page by page, from the API or a snapshot.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use unified_content::api::{ContentPage, ContentQuery};
use unified_content::{ContentStatus, ContentType, Timestamp, UnifiedContent};

use crate::client::{ContentClient, Stats};
use crate::error::FetchError;
use crate::offline;
use crate::snapshot::{Snapshot, SnapshotHeader};

/// Which items a run asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filters {
    /// Only these types; empty means every type.
    #[serde(default)]
    pub content_types: Vec<ContentType>,
    /// Only items from this provider.
    #[serde(default)]
    pub provider: Option<String>,
    /// Only these statuses; empty means published only.
    #[serde(default)]
    pub statuses: Vec<ContentStatus>,
    /// Only items updated at or after this time.
    #[serde(default)]
    pub updated_since: Option<Timestamp>,
    /// Only items the content cache stored at or after this time (incremental sync).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_since: Option<Timestamp>,
    /// Incremental sync: also tombstones of deleted items, and items that left the wanted
    /// statuses (unpublished, archived) since `updated_since`, which [`Filters::as_seen`]
    /// turns into tombstones.
    #[serde(default)]
    pub include_deleted: bool,
}

/// How far an incremental run reaches back before the previous run's newest `synced_at`: an
/// item stored while that run was paging may carry an older `synced_at` than the newest it
/// saw. Items fetched twice are written to the same bytes, so the overlap costs no output.
pub const INCREMENTAL_OVERLAP: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

impl Filters {
    /// Makes these filters an incremental sync's after a run that saw everything the cache
    /// stored up to `synced_until`: what the cache stored since (less
    /// [`INCREMENTAL_OVERLAP`]), with tombstones and items that left the wanted statuses.
    pub fn continue_from(&mut self, synced_until: Timestamp) {
        self.synced_since = Some(synced_until - INCREMENTAL_OVERLAP);
        self.include_deleted = true;
    }

    /// Whether drafts are asked for (a preview run).
    pub fn includes_drafts(&self) -> bool {
        self.statuses.contains(&ContentStatus::Draft)
    }

    /// The types fetched, in a stable order.
    pub fn types(&self) -> Vec<ContentType> {
        if self.content_types.is_empty() {
            ContentType::ALL.to_vec()
        } else {
            let mut types = self.content_types.clone();
            types.sort();
            types.dedup();
            types
        }
    }

    /// The API query for one type. An incremental query (`include_deleted`) asks for every
    /// status: an item unpublished since the last run is only seen that way.
    pub fn query(&self, content_type: ContentType, limit: Option<u32>) -> ContentQuery {
        let mut statuses = if self.include_deleted {
            ContentStatus::ALL.to_vec()
        } else {
            self.statuses.clone()
        };
        statuses.sort();
        statuses.dedup();
        ContentQuery {
            content_type: Some(content_type),
            provider: self.provider.clone(),
            statuses,
            updated_since: self.updated_since,
            synced_since: self.synced_since,
            include_deleted: self.include_deleted,
            limit,
            cursor: None,
        }
    }

    /// An item as the run shows it: in an incremental run, an item outside the wanted
    /// statuses (published, plus drafts when asked) left the site since the last run, so it
    /// arrives as a tombstone and its files are removed.
    pub fn as_seen(&self, mut item: UnifiedContent) -> UnifiedContent {
        let wanted = ContentQuery {
            statuses: self.statuses.clone(),
            ..ContentQuery::default()
        }
        .effective_statuses();
        if self.include_deleted && !wanted.contains(&item.status) {
            item.status = ContentStatus::Deleted;
        }
        item
    }

    /// Whether an item passes these filters, the way the API filters.
    pub fn matches(&self, item: &UnifiedContent) -> bool {
        let query = self.query(item.content_type, None);
        self.types().contains(&item.content_type)
            && self
                .provider
                .as_ref()
                .is_none_or(|p| *p == item.provider_name)
            && query.effective_statuses().contains(&item.status)
            && self.updated_since.is_none_or(|t| item.updated_at >= t)
            && self.synced_since.is_none_or(|t| item.synced_at >= t)
    }
}

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

/// An item that broke the model's rules and was skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidItem {
    /// The item's id, or `<no id>`.
    pub id: String,
    /// The field path.
    pub field: String,
    /// The broken rule.
    pub reason: String,
}

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

/// Checks one raw item: it must read as [`UnifiedContent`] and pass its validation after
/// normalization. Unknown fields are ignored by the model, never an error.
pub(crate) fn check_item(raw: Value) -> Result<UnifiedContent, InvalidItem> {
    let id = raw
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("<no id>")
        .to_string();
    let mut item: UnifiedContent = serde_path_to_error::deserialize(raw).map_err(|e| {
        let message = e.inner().to_string();
        let path = e.path().to_string();
        // A missing field is reported at its parent; name the field itself.
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|m| m.split('`').next());
        let field = match (path.as_str(), missing) {
            ("." | "", Some(name)) => name.to_string(),
            (parent, Some(name)) => format!("{parent}.{name}"),
            (path, None) => path.to_string(),
        };
        InvalidItem {
            id: id.clone(),
            field,
            reason: message,
        }
    })?;
    item.normalize();
    item.validate().map_err(|errors| {
        let first = errors.first();
        InvalidItem {
            id: first.item_id.clone(),
            field: first.field.clone(),
            reason: first.to_string(),
        }
    })?;
    Ok(item)
}

/// Sorts checked items into a page, or fails on the first invalid one when strict.
pub(crate) fn build_page(
    content_type: ContentType,
    index: usize,
    last: bool,
    raw: Vec<Value>,
    options: &FetchOptions,
    origin: &str,
) -> Result<FetchedPage, FetchError> {
    let mut page = FetchedPage {
        content_type,
        index,
        last,
        items: Vec::with_capacity(raw.len()),
        skipped: Vec::new(),
    };
    for value in raw {
        match check_item(value) {
            Ok(item) => page.items.push(options.filters.as_seen(item)),
            Err(invalid) if options.strict => {
                return Err(FetchError::InvalidItem {
                    id: invalid.id,
                    field: invalid.field,
                    reason: invalid.reason,
                    url: origin.to_string(),
                });
            }
            Err(invalid) => {
                tracing::warn!(
                    id = %invalid.id,
                    field = %invalid.field,
                    from = origin,
                    "skipping invalid item: {}",
                    invalid.reason
                );
                page.skipped.push(invalid);
            }
        }
    }
    Ok(page)
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

    /// A snapshot file, read and checked.
    pub fn snapshot(path: &Path) -> Result<ContentSource, FetchError> {
        Ok(ContentSource(Origin::Snapshot {
            path: path.to_path_buf(),
            header: Arc::new(Snapshot::check(path)?),
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
        let header = Snapshot::check(path)?;
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
    /// the filters ask for drafts.
    pub fn pages(&self, options: &FetchOptions) -> Result<PageStream, FetchError> {
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
        self.pages(options)?.collect().await
    }

    /// One item by id, checked like any other; `None` when there is none.
    pub async fn get(&self, id: &str) -> Result<Option<UnifiedContent>, FetchError> {
        let (origin, raw) = match &self.0 {
            Origin::Api(client) => match client.item(id).await? {
                Some((url, raw)) => (url.to_string(), raw),
                None => return Ok(None),
            },
            Origin::Snapshot { path, .. } => match offline::item(path, id).await? {
                Some(item) => (
                    path.display().to_string(),
                    serde_json::to_value(&item).expect("unified content always serializes"),
                ),
                None => return Ok(None),
            },
        };
        check_item(raw)
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
    // One page of buffer: with a page per type in flight, fetching runs a few pages ahead of
    // the consumer, and memory holds a few pages whatever the catalog's size.
    let (tx, rx) = mpsc::channel(1);
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
                let check = |page: &ContentPage<Value>| {
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
                    let page = build_page(content_type, index, last, raw.items, &options, raw.url.as_str())?;
                    if let Some(used) = std::mem::replace(&mut query.cursor, raw.next_cursor) {
                        seen.insert(used);
                    }
                    Ok(page)
                });
                let stop = result.as_ref().map_or(true, |p| p.last);
                if tx.send(result).await.is_err() || stop {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(id: &str, slug: &str) -> Value {
        json!({
            "id": id, "title": "T", "slug": slug, "content_type": "article",
            "provider_type": "cms", "provider_name": "sanity",
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-02T00:00:00+01:00",
            "synced_at": "2026-01-03T00:00:00Z", "surprise_field": {"kept": "or ignored"}
        })
    }

    #[test]
    fn items_are_checked_leniently_or_strictly() {
        let mut bad_price = raw("d", "ok-d");
        bad_price["price"] = json!({"amount": "x", "currency_code": "EUR"});
        let items = vec![
            raw("a", "ok"),
            raw("b", "Not A Slug"),
            json!({"id": "c"}),
            bad_price,
        ];
        let lenient = FetchOptions::default();
        let strict = FetchOptions {
            strict: true,
            ..FetchOptions::default()
        };
        let page = build_page(ContentType::Article, 0, true, items.clone(), &lenient, "u").unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(
            page.items[0].updated_at.to_rfc3339(),
            "2026-01-01T23:00:00+00:00"
        );
        assert_eq!(
            page.skipped
                .iter()
                .map(|s| (s.id.as_str(), s.field.as_str()))
                .collect::<Vec<_>>(),
            vec![("b", "slug"), ("c", "title"), ("d", "price.amount")]
        );
        let err = build_page(ContentType::Article, 0, true, items, &strict, "u").unwrap_err();
        assert!(
            matches!(&err, FetchError::InvalidItem { id, field, .. } if id == "b" && field == "slug"),
            "{err}"
        );
    }

    #[test]
    fn filters_match_like_the_api() {
        let item = check_item(raw("a", "ok")).unwrap();
        let mut filters = Filters::default();
        assert!(filters.matches(&item));
        filters.provider = Some("contentful".into());
        assert!(!filters.matches(&item));
        filters.provider = None;
        filters.content_types = vec![ContentType::Product];
        assert!(!filters.matches(&item));
        filters.content_types = vec![];
        filters.statuses = vec![ContentStatus::Draft];
        assert!(!filters.matches(&item));
        filters.statuses = vec![];
        filters.updated_since = Some("2026-01-02T00:00:00Z".parse().unwrap());
        assert!(!filters.matches(&item));
    }

    #[test]
    fn incremental_runs_see_unpublished_items_as_tombstones() {
        let mut draft = check_item(raw("a", "ok")).unwrap();
        draft.status = ContentStatus::Draft;
        let mut archived = draft.clone();
        archived.status = ContentStatus::Archived;
        let published = check_item(raw("b", "ok-b")).unwrap();

        let full = Filters::default();
        assert_eq!(full.query(ContentType::Article, None).statuses, vec![]);
        assert_eq!(full.as_seen(draft.clone()).status, ContentStatus::Draft);

        let incremental = Filters {
            include_deleted: true,
            ..Filters::default()
        };
        let query = incremental.query(ContentType::Article, None);
        assert_eq!(query.statuses, ContentStatus::ALL.to_vec());
        assert!(incremental.matches(&draft) && incremental.matches(&archived));
        assert_eq!(
            incremental.as_seen(draft.clone()).status,
            ContentStatus::Deleted
        );
        assert_eq!(incremental.as_seen(archived).status, ContentStatus::Deleted);
        assert_eq!(
            incremental.as_seen(published).status,
            ContentStatus::Published
        );

        let preview = Filters {
            statuses: vec![ContentStatus::Published, ContentStatus::Draft],
            ..incremental
        };
        assert_eq!(preview.as_seen(draft).status, ContentStatus::Draft);
    }
}
